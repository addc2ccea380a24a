package isc

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/imsps/imsps/as"
)

func notification(target string, routes ...string) as.Notification {
	return as.Notification{
		Dialog: as.Dialog{
			CallID: "n-1@test", LocalTag: "lt", RemoteTag: "rt",
			LocalURI: "<sip:alice@example.com>", RemoteURI: "<sip:bob@example.com>",
			RemoteTarget: target, RouteSet: routes, Transport: "udp",
		},
		CSeq: 5, Event: "presence", State: as.StateActive, Expires: 100 * time.Second,
		ContentType: mediaPIDF, Body: []byte(pidfBody),
	}
}

func TestPlanHop(t *testing.T) {
	tests := []struct {
		name       string
		d          as.Dialog
		wantRURI   string
		wantRoutes []string
		wantDest   string
		wantTP     string
	}{
		{"RFC 3261 §12.2.1.1: empty route set -> remote target", as.Dialog{RemoteTarget: "sip:bob@10.0.0.1:5070", Transport: "udp"},
			"sip:bob@10.0.0.1:5070", nil, "10.0.0.1:5070", "UDP"},
		{"RFC 3261 §12.2.1.1: loose route -> first route is next hop", as.Dialog{RemoteTarget: "sip:bob@10.0.0.1", RouteSet: []string{"<sip:pcscf.example.com;lr>", "<sip:x.example.com;lr>"}, Transport: "tcp"},
			"sip:bob@10.0.0.1", []string{"sip:pcscf.example.com;lr", "sip:x.example.com;lr"}, "pcscf.example.com:5060", "TCP"},
		{"RFC 3261 §12.2.1.1: strict route -> route in R-URI, target last", as.Dialog{RemoteTarget: "sip:bob@10.0.0.1", RouteSet: []string{"<sip:strict.example.com:5080;method=NOTIFY>", "<sip:y.example.com;lr>"}, Transport: "udp"},
			"sip:strict.example.com:5080", []string{"sip:y.example.com;lr", "sip:bob@10.0.0.1"}, "strict.example.com:5080", "UDP"},
		{"RFC 3263 §4.1: transport parameter of next hop wins", as.Dialog{RemoteTarget: "sip:bob@[::1]:5070;transport=tcp", Transport: "udp"},
			"sip:bob@[::1]:5070;transport=tcp", nil, "[::1]:5070", "TCP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := planHop(tc.d)
			if err != nil {
				t.Fatal(err)
			}
			var rs []string
			for _, r := range h.routes {
				rs = append(rs, r.String())
			}
			if h.requestURI.String() != tc.wantRURI || strings.Join(rs, ",") != strings.Join(tc.wantRoutes, ",") ||
				h.destination() != tc.wantDest || h.transport != tc.wantTP {
				t.Fatalf("got R-URI %s routes %q dest %s tp %s", h.requestURI.String(), rs, h.destination(), h.transport)
			}
		})
	}
}

func TestNotifyOutcome(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		silent  bool
		wantErr error
	}{
		{"RFC 6665 §4.2.2: 200 -> delivered", 200, false, nil},
		{"RFC 6665 §4.2.2: 481 -> subscription gone", 481, false, as.ErrNoSuchSubscription},
		{"RFC 6665 §4.2.2: 408 -> timeout", 408, false, as.ErrNotifyTimeout},
		{"RFC 3261 §17.1.2.2: no answer before notify_timeout -> timeout", 0, true, as.ErrNotifyTimeout},
	}
	for _, tp := range transports {
		f, _, _, _ := startFake(t, func(c *Config) { c.NotifyTimeout = time.Second })
		for _, tc := range tests {
			t.Run(tp+"/"+tc.name, func(t *testing.T) {
				w := newPeer(t, tp)
				w.answer(tc.status, tc.silent)
				n := notification(w.contact())
				n.Dialog.Transport = strings.ToLower(tp)
				err := f.n.Notify(t.Context(), n)
				if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
					t.Fatalf("Notify = %v, want %v", err, tc.wantErr)
				}
				got := w.nextNotify()
				if got.CSeq().SeqNo != 5 {
					t.Fatalf("CSeq %d", got.CSeq().SeqNo)
				}
			})
		}
	}
}

func TestNotifyTerminated(t *testing.T) {
	f, _, _, _ := startFake(t, nil)
	w := newPeer(t, "UDP")
	n := notification(w.contact())
	n.State, n.Reason, n.Body, n.ContentType = as.StateTerminated, "timeout", nil, ""
	if err := f.n.Notify(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	got := w.nextNotify()
	// RFC 6665 §4.1.3: terminated carries a reason and no expires.
	if s := hdr(got, "Subscription-State"); s != "terminated;reason=timeout" {
		t.Fatalf("Subscription-State %q", s)
	}
	if got.ContentType() != nil || len(got.Body()) != 0 {
		t.Fatalf("terminated NOTIFY with body")
	}
}

// largeBody is a PIDF document well above 1300 bytes.
func largeBody() []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">`)
	for i := range 40 {
		b.WriteString(`<tuple id="t` + strings.Repeat("x", 3) + string(rune('a'+i%26)) + `"><status><basic>open</basic></status><note>phone</note></tuple>`)
	}
	b.WriteString("</presence>")
	return []byte(b.String())
}

// newDualPeer listens on UDP and TCP at the same port; the NOTIFY transport shows which one it used.
func newDualPeer(t *testing.T) (udpPeer, tcpPeer *peer) {
	for range 20 {
		u := newPeer(t, "UDP")
		_, port, _ := net.SplitHostPort(u.addr)
		l, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err != nil {
			continue
		}
		l.Close()
		tp := newPeerAt(t, "TCP", "127.0.0.1:"+port)
		if tp == nil {
			continue
		}
		return u, tp
	}
	t.Fatal("no port free on both UDP and TCP")
	return nil, nil
}

func TestLargeNotify(t *testing.T) {
	body := largeBody()
	if len(body) < 2*udpSizeLimit {
		t.Fatalf("body only %d bytes", len(body))
	}
	t.Run("RFC 3261 §18.1.1: over 1300 bytes switches UDP to TCP", func(t *testing.T) {
		f, _, _, _ := startFake(t, nil)
		u, tc := newDualPeer(t)
		n := notification(u.contact())
		n.Body = body
		if err := f.n.Notify(t.Context(), n); err != nil {
			t.Fatal(err)
		}
		got := tc.nextNotify()
		if string(got.Body()) != string(body) || got.Via().Transport != "TCP" {
			t.Fatalf("via %s, %d bytes", got.Via().Transport, len(got.Body()))
		}
		if len(u.notifies) != 0 {
			t.Fatalf("also sent over UDP")
		}
	})
	t.Run("RFC 3261 §18.1.1: TCP refused -> retried over UDP as one datagram", func(t *testing.T) {
		f, _, _, _ := startFake(t, nil)
		w := newPeer(t, "UDP")
		n := notification(w.contact())
		n.Body = body
		if err := f.n.Notify(t.Context(), n); err != nil {
			t.Fatal(err)
		}
		got := w.nextNotify()
		if string(got.Body()) != string(body) || got.Via().Transport != "UDP" {
			t.Fatalf("via %s, %d bytes", got.Via().Transport, len(got.Body()))
		}
	})
	t.Run("RFC 3261 §17.1.2.2: large UDP NOTIFY answered 481", func(t *testing.T) {
		f, _, _, _ := startFake(t, nil)
		w := newPeer(t, "UDP")
		w.answer(481, false)
		n := notification(w.contact())
		n.Body = body
		if err := f.n.Notify(t.Context(), n); !errors.Is(err, as.ErrNoSuchSubscription) {
			t.Fatalf("Notify = %v", err)
		}
	})
}

func TestNotifyAfterClose(t *testing.T) {
	_, srv, _, _ := startFake(t, nil)
	srv.Close()
	srv.Close() // idempotent
	err := srv.n.Notify(context.Background(), notification("sip:bob@127.0.0.1:9"))
	if !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Notify after Close = %v", err)
	}
}

func TestNotifyBeforeServeEndsAtClose(t *testing.T) {
	cfg := DefaultConfig()
	n, err := NewNotifier(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- n.Notify(context.Background(), notification("sip:bob@127.0.0.1:9")) }()
	n.Close() // must not wait forever for the Notify that waits for Serve
	if err := <-errc; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Notify = %v", err)
	}
}
