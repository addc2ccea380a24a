package isc_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/isc"
	"github.com/imsps/imsps/isc/isctest"
)

// emfileListener fails its first n Accepts the way a process out of file descriptors does.
type emfileListener struct {
	net.Listener
	fail atomic.Int32
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.fail.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestTCPListenerSurvivesAcceptErrors: a connection flood that exhausts file descriptors
// makes accept fail with EMFILE; the TCP listener must keep accepting once descriptors are
// free again (before, the first such error ended the SIP stack's accept loop and Serve).
func TestTCPListenerSurvivesAcceptErrors(t *testing.T) {
	var l *emfileListener
	_, tcp := isctest.Start(t, isctest.WithTCPListener(func(inner net.Listener) net.Listener {
		l = &emfileListener{Listener: inner}
		l.fail.Store(5)
		return l
	}))
	ua := isctest.NewUA(t, "TCP")
	res := publish(t, ua, tcp, "sip:alice@example.com", pidf("sip:alice@example.com", "t1=open"), "Expires: 600")
	if res.StatusCode != sip.StatusOK {
		t.Fatalf("PUBLISH over TCP after accept errors: %d %s", res.StatusCode, res.Reason)
	}
	if l.fail.Load() >= 0 {
		t.Fatal("the injected accept errors were not hit")
	}
}

// closedByServer reads from c until the server closes it; a timeout of the 5 s bound fails.
func closedByServer(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open (%v)", err)
	}
}

// TestTCPConnectionFloodBounded: accepted TCP connections beyond the bound are closed at
// once and connections that send nothing are closed after the idle timeout, so a peer that
// opens connections and never sends cannot hold the server's memory; a PUBLISH over a
// fresh connection is answered once the flood is gone.
func TestTCPConnectionFloodBounded(t *testing.T) {
	_, tcp := isctest.Start(t, isctest.WithServerOptions(isc.WithTCPLimits(300*time.Millisecond, 3)))
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", tcp)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	t.Run("beyond the bound: closed at once", func(t *testing.T) {
		c, err := net.Dial("tcp", tcp)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		closedByServer(t, c)
	})
	t.Run("idle: closed after the idle timeout", func(t *testing.T) {
		for _, c := range held {
			closedByServer(t, c)
		}
	})
	t.Run("then a PUBLISH over TCP is answered", func(t *testing.T) {
		ua := isctest.NewUA(t, "TCP")
		res := publish(t, ua, tcp, "sip:alice@example.com", pidf("sip:alice@example.com", "t1=open"), "Expires: 600")
		if res.StatusCode != sip.StatusOK {
			t.Fatalf("PUBLISH: %d %s", res.StatusCode, res.Reason)
		}
	})
}

// panickingPresence is a presence core with a bug some request reaches.
type panickingPresence struct{}

func (panickingPresence) Publish(context.Context, as.PublishRequest) (as.PublishResult, error) {
	var m map[string]int
	m["x"]++ // assignment to a nil map
	return as.PublishResult{}, nil
}

func (panickingPresence) Subscribe(context.Context, as.SubscribeRequest) (as.SubscribeResult, error) {
	panic("subscribe bug")
}

func (panickingPresence) Packages() []string { return []string{"presence"} }

// TestHandlerPanicAnswered500 (RFC 3261 §21.5.1): a panic while serving one request costs
// that request a 500, not the process (the SIP stack recovers none); the server keeps
// answering.
func TestHandlerPanicAnswered500(t *testing.T) {
	cfg := isc.DefaultConfig()
	cfg.UDP, cfg.TCP = "127.0.0.1:0", "127.0.0.1:0"
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	n, err := isc.NewNotifier(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := isc.New(cfg, panickingPresence{}, n, log)
	if err != nil {
		t.Fatal(err)
	}
	udp, tcp, err := isc.Listen(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(t.Context(), udp, tcp) }()
	defer func() { srv.Close(); <-done }()
	for _, tp := range []string{"UDP", "TCP"} {
		addr := udp.LocalAddr().String()
		if tp == "TCP" {
			addr = tcp.Addr().String()
		}
		ua := isctest.NewUA(t, tp)
		for range 2 {
			res := publish(t, ua, addr, "sip:alice@example.com", pidf("sip:alice@example.com", "t1=open"), "Expires: 600")
			if res.StatusCode != sip.StatusInternalServerError {
				t.Fatalf("%s PUBLISH reaching a panic: %d %s, want 500", tp, res.StatusCode, res.Reason)
			}
		}
	}
}
