package isc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/imsps/imsps/as"
)

// fakePresence is a scripted presence core: it records requests, fails with err when set,
// and on subscribe sends one NOTIFY through the notifier when activated.
type fakePresence struct {
	n as.Notifier

	mu         sync.Mutex
	err        error
	publishes  []as.PublishRequest
	subscribes []as.SubscribeRequest
	body       []byte
	notified   chan error
	ctxErr     error         // ctx.Err() seen by the last call
	entered    chan struct{} // when set, Publish signals here and then waits for release
	release    chan struct{}
}

func (f *fakePresence) Packages() []string { return []string{"presence", "presence.winfo"} }

func (f *fakePresence) Publish(ctx context.Context, r as.PublishRequest) (as.PublishResult, error) {
	f.mu.Lock()
	entered, release := f.entered, f.release
	f.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
		<-release
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctxErr = ctx.Err()
	f.publishes = append(f.publishes, r)
	if f.err != nil {
		return as.PublishResult{}, f.err
	}
	return as.PublishResult{ETag: "etag1", Expires: time.Hour}, nil
}

func (f *fakePresence) Subscribe(ctx context.Context, r as.SubscribeRequest) (as.SubscribeResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctxErr = ctx.Err()
	f.subscribes = append(f.subscribes, r)
	if f.err != nil {
		return as.SubscribeResult{}, f.err
	}
	d := r.Dialog
	d.LocalTag = "srvtag"
	body := f.body
	return as.SubscribeResult{LocalTag: "srvtag", Expires: 600 * time.Second, Activate: func() {
		go func() {
			err := f.n.Notify(context.Background(), as.Notification{
				Dialog: d, CSeq: 1, Event: r.Event, EventID: r.EventID, State: as.StateActive,
				Expires: 600 * time.Second, ChargingVector: r.ChargingVector,
				ContentType: mediaPIDF, Body: body,
			})
			if f.notified != nil {
				f.notified <- err
			}
		}()
	}}, nil
}

func (f *fakePresence) last() (as.PublishRequest, as.SubscribeRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var p as.PublishRequest
	var s as.SubscribeRequest
	if len(f.publishes) > 0 {
		p = f.publishes[len(f.publishes)-1]
	}
	if len(f.subscribes) > 0 {
		s = f.subscribes[len(f.subscribes)-1]
	}
	return p, s
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startFake runs a Server over a fakePresence on loopback; edit changes the config.
func startFake(t testing.TB, edit func(*Config), opts ...Option) (*fakePresence, *Server, string, string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.UDP, cfg.TCP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.NotifyTimeout = 3 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	log := testLogger(t)
	n, err := NewNotifier(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePresence{n: n, notified: make(chan error, 8)}
	srv, err := New(cfg, f, n, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	udp, tcp, err := Listen(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), udp, tcp) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return f, srv, udp.LocalAddr().String(), tcp.Addr().String()
}

// peer is a SIP user agent for tests: it sends requests and records NOTIFYs it receives.
type peer struct {
	t         testing.TB
	client    *sipgo.Client
	transport string // "UDP" or "TCP"
	addr      string // listener host:port (Contact)
	notifies  chan *sip.Request
	mu        sync.Mutex
	status    int // answer to NOTIFY; 0 = 200
	silent    bool
}

func newPeer(t testing.TB, transport string) *peer {
	t.Helper()
	p := newPeerAt(t, transport, "127.0.0.1:0")
	if p == nil {
		t.Fatalf("cannot listen for a %s peer", transport)
	}
	return p
}

// newPeerAt starts a peer listening at addr; nil when the address is taken.
func newPeerAt(t testing.TB, transport, addr string) *peer {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("peer"), sipgo.WithUserAgentHostname("127.0.0.1"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(testLogger(t))),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(testLogger(t))))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, client: client, transport: transport, notifies: make(chan *sip.Request, 64)}
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		p.mu.Lock()
		code, silent := p.status, p.silent
		p.mu.Unlock()
		p.notifies <- req
		if silent {
			return
		}
		if code == 0 {
			code = 200
		}
		tx.Respond(sip.NewResponseFromRequest(req, code, "Test", nil))
	})
	switch transport {
	case "UDP":
		l, err := net.ListenPacket("udp", addr)
		if err != nil {
			ua.Close()
			return nil
		}
		p.addr = l.LocalAddr().String()
		go srv.ServeUDP(l)
		t.Cleanup(func() { l.Close() })
	default:
		l, err := net.Listen("tcp", addr)
		if err != nil {
			ua.Close()
			return nil
		}
		p.addr = l.Addr().String()
		go srv.ServeTCP(l)
		t.Cleanup(func() { l.Close() })
	}
	t.Cleanup(func() { ua.Close() })
	return p
}

// answer sets how the peer answers NOTIFYs: status (0 = 200), or not at all.
func (p *peer) answer(status int, silent bool) {
	p.mu.Lock()
	p.status, p.silent = status, silent
	p.mu.Unlock()
}

// contact is the peer's Contact URI.
func (p *peer) contact() string {
	if p.transport == "TCP" {
		return "sip:watcher@" + p.addr + ";transport=tcp"
	}
	return "sip:watcher@" + p.addr
}

// request builds a request to ruri, sent to the server address dst; hdrs are raw
// "Name: value" lines; the client adds Via, Call-ID, CSeq and Max-Forwards where missing.
func (p *peer) request(method sip.RequestMethod, ruri, dst string, body []byte, hdrs ...string) *sip.Request {
	p.t.Helper()
	raw := string(method) + " " + ruri + " SIP/2.0\r\n" + strings.Join(hdrs, "\r\n") + "\r\n\r\n"
	msg, err := sip.NewParser().ParseSIP([]byte(raw))
	if err != nil {
		p.t.Fatalf("test request: %v", err)
	}
	req := msg.(*sip.Request)
	req.SetBody(body)
	req.SetDestination(dst)
	req.SetTransport(p.transport)
	return req
}

// do sends req and returns the final response.
func (p *peer) do(req *sip.Request) *sip.Response {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.t.Context(), 10*time.Second)
	defer cancel()
	res, err := p.client.Do(ctx, req)
	if err != nil {
		p.t.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

// nextNotify waits for the next NOTIFY.
func (p *peer) nextNotify() *sip.Request {
	p.t.Helper()
	select {
	case n := <-p.notifies:
		return n
	case <-p.t.Context().Done():
		p.t.Fatal("no NOTIFY")
	case <-time.After(20 * time.Second):
		p.t.Fatal("no NOTIFY within 20s")
	}
	return nil
}

func hdr(m sip.Message, name string) string {
	v, _ := headerValue(m, name)
	return v
}

// fromTo returns raw From and To header lines with fresh tags.
func fromTo(from, to string) (string, string) {
	return fmt.Sprintf("From: <%s>;tag=%s", from, sip.GenerateTagN(8)), fmt.Sprintf("To: <%s>", to)
}
