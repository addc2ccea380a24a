package isctest

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// UA is a SIP user agent for tests (a PUA or a watcher): it sends requests over one
// transport and answers the NOTIFYs it receives, keeping them for the test.
type UA struct {
	t         testing.TB
	client    *sipgo.Client
	Transport string // "UDP" or "TCP"
	Addr      string // where it listens (host:port), the host part of Contact
	notifies  chan *sip.Request
	mu        sync.Mutex
	status    int
	silent    bool
}

// NewUA starts a user agent listening on 127.0.0.1:0 over transport ("UDP" or "TCP").
func NewUA(t testing.TB, transport string) *UA {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("isctest"), sipgo.WithUserAgentHostname("127.0.0.1"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	u := &UA{t: t, client: client, Transport: strings.ToUpper(transport), notifies: make(chan *sip.Request, 256)}
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		u.mu.Lock()
		code, silent := u.status, u.silent
		u.mu.Unlock()
		u.notifies <- req
		if silent {
			return
		}
		if code == 0 {
			code = 200
		}
		tx.Respond(sip.NewResponseFromRequest(req, code, "isctest", nil))
	})
	if u.Transport == "TCP" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		u.Addr = l.Addr().String()
		go srv.ServeTCP(l)
		t.Cleanup(func() { l.Close() })
	} else {
		l, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		u.Addr = l.LocalAddr().String()
		go srv.ServeUDP(l)
		t.Cleanup(func() { l.Close() })
	}
	return u
}

// Answer sets how NOTIFYs are answered from now on: status (0 means 200), or not at all.
func (u *UA) Answer(status int, silent bool) {
	u.mu.Lock()
	u.status, u.silent = status, silent
	u.mu.Unlock()
}

// Contact is the UA's Contact URI for user.
func (u *UA) Contact(user string) string {
	c := "sip:" + user + "@" + u.Addr
	if u.Transport == "TCP" {
		c += ";transport=tcp"
	}
	return c
}

// Request builds a request for ruri to be sent to dst (a server address). hdrs are raw
// "Name: value" lines; Via, Call-ID, CSeq and Max-Forwards are added where missing.
func (u *UA) Request(method sip.RequestMethod, ruri, dst string, body []byte, hdrs ...string) *sip.Request {
	u.t.Helper()
	raw := string(method) + " " + ruri + " SIP/2.0\r\n" + strings.Join(hdrs, "\r\n") + "\r\n\r\n"
	msg, err := sip.NewParser().ParseSIP([]byte(raw))
	if err != nil {
		u.t.Fatalf("isctest: request: %v", err)
	}
	req := msg.(*sip.Request)
	req.SetBody(body)
	req.SetDestination(dst)
	req.SetTransport(u.Transport)
	return req
}

// Do sends req in a client transaction and returns the final response.
func (u *UA) Do(req *sip.Request) *sip.Response {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := u.client.Do(ctx, req)
	if err != nil {
		u.t.Fatalf("isctest: %s: %v", req.Method, err)
	}
	return res
}

// NextNotify returns the next NOTIFY received (failing the test after 30 s without one).
func (u *UA) NextNotify() *sip.Request {
	u.t.Helper()
	select {
	case n := <-u.notifies:
		return n
	case <-time.After(30 * time.Second):
		u.t.Fatal("isctest: no NOTIFY within 30 s")
	}
	return nil
}

// NotifyWithin returns the next NOTIFY if one arrives within d.
func (u *UA) NotifyWithin(d time.Duration) (*sip.Request, bool) {
	select {
	case n := <-u.notifies:
		return n, true
	case <-time.After(d):
		return nil, false
	}
}

// Pending is the number of NOTIFYs received and not yet taken.
func (u *UA) Pending() int { return len(u.notifies) }

// Header returns the first value of a header by full name (compact forms included).
func Header(m sip.Message, name string) string {
	for _, n := range []string{name, compact(name)} {
		if n == "" {
			continue
		}
		if hs := m.GetHeaders(n); len(hs) > 0 {
			return hs[0].Value()
		}
	}
	return ""
}

func compact(name string) string {
	switch strings.ToLower(name) {
	case "event":
		return "o"
	case "allow-events":
		return "u"
	}
	return ""
}
