package peer_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
)

func logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startServer runs a Server with an echo-ish UDR handler on 127.0.0.1:0.
func startServer(t *testing.T, host string, mux *peer.Mux) (*peer.Server, string) {
	t.Helper()
	d, err := dict.New(dict.Sh)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := peer.NewServer(peer.Options{
		Local: peer.Identity{OriginHost: host, OriginRealm: "example.com"},
		Dict:  d, Mux: mux, Log: logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(t.Context(), l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, peer.ErrServerClosed) {
			t.Error(err)
		}
	})
	return srv, l.Addr().String()
}

func udrMux(name string) *peer.Mux {
	mux := peer.NewMux()
	mux.HandleFunc(dict.Sh, dict.UserData, func(ctx context.Context, req *diam.Message) (*diam.Message, error) {
		a := peer.NewAnswer(ctx, req)
		a.AddAVP(peer.Vendor3GPP(dict.AVPUserData, true, datatype.OctetString(name)))
		return a, nil
	})
	mux.HandleFunc(dict.Sh, dict.ProfileUpdate, func(ctx context.Context, req *diam.Message) (*diam.Message, error) {
		return nil, peer.Experimental(dict.ErrorUserUnknown)
	})
	mux.HandleFunc(dict.Sh, dict.SubscribeNotifications, func(ctx context.Context, req *diam.Message) (*diam.Message, error) {
		<-ctx.Done() // never answers while the test runs
		return nil, ctx.Err()
	})
	return mux
}

func startClient(t *testing.T, peers ...peer.PeerConfig) *peer.Client {
	t.Helper()
	d, err := dict.New(dict.Sh)
	if err != nil {
		t.Fatal(err)
	}
	c, err := peer.NewClient(peer.ClientOptions{
		Options: peer.Options{
			Local: peer.Identity{OriginHost: "as.example.com", OriginRealm: "example.com"},
			Dict:  d, Log: logger(t),
		},
		Peers:          peers,
		RequestTimeout: 500 * time.Millisecond,
		ReconnectMin:   10 * time.Millisecond,
		ReconnectMax:   50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { c.Run(t.Context()); close(done) }()
	t.Cleanup(func() { c.Close(); <-done })
	return c
}

func udr(t *testing.T, c *peer.Client, code uint32) *diam.Message {
	d, _ := dict.New(dict.Sh)
	m := diam.NewRequest(code, uint32(dict.Sh), d)
	m.AddAVP(peer.Base(dict.AVPSessionID, datatype.UTF8String(peer.NewSessionIDs("as.example.com").Next())))
	m.AddAVP(peer.VSAI(dict.Sh))
	m.AddAVP(peer.Base(dict.AVPOriginHost, datatype.DiameterIdentity("as.example.com")))
	m.AddAVP(peer.Base(dict.AVPOriginRealm, datatype.DiameterIdentity("example.com")))
	m.AddAVP(peer.Base(dict.AVPDestinationRealm, datatype.DiameterIdentity("example.com")))
	return m
}

func userData(t *testing.T, a *diam.Message) string {
	t.Helper()
	s, _ := peer.String(peer.Find(a.AVP, dict.AVPUserData, dict.Vendor3GPP))
	return s
}

func TestRequestAnswer(t *testing.T) {
	_, addr := startServer(t, "hss1.example.com", udrMux("one"))
	c := startClient(t, peer.PeerConfig{Addr: addr, Host: "hss1.example.com", Realm: "example.com"})
	tests := []struct {
		name string
		code uint32
		want error
		data string
	}{
		{"RFC6733 §6.2: answer correlated by hop-by-hop id", dict.UserData, nil, "one"},
		{"TS29.329 §6.2: Experimental-Result surfaces as ResultError", dict.ProfileUpdate, peer.Experimental(dict.ErrorUserUnknown), ""},
		{"RFC6733 §7.1.3: request without handler gets 3001", dict.PushNotification, peer.Result(dict.CommandUnsupported, ""), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := c.Request(t.Context(), udr(t, c, tc.code))
			if err != nil {
				t.Fatal(err)
			}
			err = peer.ResultOf(a)
			if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
				t.Fatalf("result %v, want %v", err, tc.want)
			}
			if got := userData(t, a); got != tc.data {
				t.Fatalf("User-Data %q, want %q", got, tc.data)
			}
			if tc.code == dict.PushNotification && a.Header.CommandFlags&diam.ErrorFlag == 0 {
				t.Fatal("3001 answer without E bit")
			}
		})
	}
}

func TestRequestTimeoutPerAttempt(t *testing.T) {
	_, addr := startServer(t, "hss1.example.com", udrMux("one"))
	c := startClient(t, peer.PeerConfig{Addr: addr})
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_, err := c.Request(ctx, udr(t, c, dict.SubscribeNotifications))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	// The connection survives a timed-out request.
	a, err := c.Request(t.Context(), udr(t, c, dict.UserData))
	if err != nil || userData(t, a) != "one" {
		t.Fatalf("after timeout: %v %v", a, err)
	}
}

func TestFailoverAndReconnect(t *testing.T) {
	srv1, addr1 := startServer(t, "hss1.example.com", udrMux("one"))
	_, addr2 := startServer(t, "hss2.example.com", udrMux("two"))
	c := startClient(t, peer.PeerConfig{Addr: addr1, Realm: "example.com"}, peer.PeerConfig{Addr: addr2, Realm: "example.com"})
	waitConnected(t, c, 2)
	a, err := c.Request(t.Context(), udr(t, c, dict.UserData))
	if err != nil || userData(t, a) != "one" {
		t.Fatalf("primary: %v %v", a, err)
	}
	srv1.Close() // DPR to the client: it fails over to the second peer
	a, err = c.Request(t.Context(), udr(t, c, dict.UserData))
	if err != nil || userData(t, a) != "two" {
		t.Fatalf("failover: %v %v", userData(t, a), err)
	}
}

func TestReconnectAfterServerRestart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	d, _ := dict.New(dict.Sh)
	newSrv := func() *peer.Server {
		s, err := peer.NewServer(peer.Options{Local: peer.Identity{OriginHost: "hss.example.com", OriginRealm: "example.com"}, Dict: d, Mux: udrMux("x")})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s1 := newSrv()
	go s1.Serve(t.Context(), l)
	c := startClient(t, peer.PeerConfig{Addr: addr})
	if _, err := c.Request(t.Context(), udr(t, c, dict.UserData)); err != nil {
		t.Fatal(err)
	}
	s1.Close()
	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s2 := newSrv()
	go s2.Serve(t.Context(), l2)
	t.Cleanup(func() { s2.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := c.Request(ctx, udr(t, c, dict.UserData)); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

func TestDestinationRealmRouting(t *testing.T) {
	_, addrA := startServer(t, "hss.other.net", udrMux("other"))
	_, addrB := startServer(t, "dra.example.com", udrMux("dra"))
	c := startClient(t, peer.PeerConfig{Addr: addrB}, peer.PeerConfig{Addr: addrA, Realm: "other.net"})
	waitConnected(t, c, 2)
	m := udr(t, c, dict.UserData)
	m.DeleteAVP(dict.AVPDestinationRealm, 0)
	m.AddAVP(peer.Base(dict.AVPDestinationRealm, datatype.DiameterIdentity("other.net")))
	a, err := c.Request(t.Context(), m)
	if err != nil || userData(t, a) != "other" {
		t.Fatalf("realm route: %v %v", userData(t, a), err)
	}
	a, err = c.Request(t.Context(), udr(t, c, dict.UserData)) // example.com: the default route
	if err != nil || userData(t, a) != "dra" {
		t.Fatalf("default route: %v %v", userData(t, a), err)
	}
}

func TestNoPeerWithinDeadline(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close() // nothing listens there
	c := startClient(t, peer.PeerConfig{Addr: addr})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Request(ctx, udr(t, c, dict.UserData))
	if !errors.Is(err, peer.ErrNoPeer) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func waitConnected(t *testing.T, c *peer.Client, n int) {
	t.Helper()
	if err := c.WaitConnected(t.Context(), n); err != nil {
		t.Fatal(err)
	}
}

func TestWatchdogAndUnsupportedApplication(t *testing.T) {
	srv, addr := startServer(t, "hss1.example.com", udrMux("one"))
	d, _ := dict.New(dict.Sh)
	dwas := make(chan struct{}, 100)
	tap := func(out bool, _, _ net.Addr, b []byte) {
		code := uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
		if !out && code == dict.DeviceWatchdog && b[4]&diam.RequestFlag == 0 {
			dwas <- struct{}{}
		}
	}
	c, err := peer.NewClient(peer.ClientOptions{
		Options: peer.Options{Local: peer.Identity{OriginHost: "as.example.com", OriginRealm: "example.com"}, Dict: d, Watchdog: 20 * time.Millisecond, Tap: tap},
		Peers:   []peer.PeerConfig{{Addr: addr}},
	})
	if err != nil {
		t.Fatal(err)
	}
	go c.Run(t.Context())
	t.Cleanup(func() { c.Close() })
	waitConnected(t, c, 1)
	// RFC 3539 §3.4: DWR after Tw idle, answered by DWA; three rounds keep the connection up.
	for range 3 {
		<-dwas
	}
	if got := c.Connected(); len(got) != 1 {
		t.Fatalf("connected = %v after watchdog periods", got)
	}
	// Server to client: an application the client does not serve gets 3007, a command it
	// has no handler for gets 3001 (RFC 6733 §7.1.3).
	conns := srv.Peers()
	if len(conns) != 1 {
		t.Fatalf("server peers = %d", len(conns))
	}
	for _, tc := range []struct {
		app  uint32
		code uint32
		want dict.ResultCode
	}{{uint32(dict.Sh), dict.PushNotification, dict.CommandUnsupported}, {16777216, 301, dict.ApplicationUnsupported}, {uint32(dict.Sh), 999, dict.CommandUnsupported}} {
		m := diam.NewRequest(tc.code, tc.app, d)
		m.AddAVP(peer.Base(dict.AVPSessionID, datatype.UTF8String("hss1;1;1")))
		a, err := conns[0].Request(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(peer.ResultOf(a), peer.Result(tc.want, "")) {
			t.Fatalf("app %d code %d: %v, want %v", tc.app, tc.code, peer.ResultOf(a), tc.want)
		}
		if peer.SessionID(a) != "hss1;1;1" {
			t.Fatalf("Session-Id not echoed: %q", peer.SessionID(a))
		}
	}
}

func TestNoRouteFailsFast(t *testing.T) {
	_, addr := startServer(t, "hss1.example.com", udrMux("one"))
	c := startClient(t, peer.PeerConfig{Addr: addr, Realm: "example.com"})
	m := udr(t, c, dict.UserData)
	m.DeleteAVP(dict.AVPDestinationRealm, 0)
	m.AddAVP(peer.Base(dict.AVPDestinationRealm, datatype.DiameterIdentity("other.net")))
	if _, err := c.Request(t.Context(), m); !errors.Is(err, peer.ErrNoRoute) {
		t.Fatalf("err = %v, want ErrNoRoute", err)
	}
}

// RFC 6733 §5.4: DPR in both directions is answered with DPA before the connection closes.
func TestDisconnectPeerBothWays(t *testing.T) {
	type seen struct {
		out  bool
		code uint32
		req  bool
	}
	ch := make(chan seen, 1000)
	tap := func(out bool, _, _ net.Addr, b []byte) {
		select {
		case ch <- seen{out, uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7]), b[4]&diam.RequestFlag != 0}:
		default:
		}
	}
	srv, addr := startServer(t, "hss1.example.com", udrMux("one"))
	d, _ := dict.New(dict.Sh)
	c, err := peer.NewClient(peer.ClientOptions{
		Options: peer.Options{Local: peer.Identity{OriginHost: "as.example.com", OriginRealm: "example.com"}, Dict: d, Tap: tap},
		Peers:   []peer.PeerConfig{{Addr: addr}},
	})
	if err != nil {
		t.Fatal(err)
	}
	go c.Run(t.Context())
	waitConnected(t, c, 1)
	want := func(s seen) {
		t.Helper()
		for {
			select {
			case got := <-ch:
				if got == s {
					return
				}
			case <-t.Context().Done():
				t.Fatalf("never saw %+v", s)
			}
		}
	}
	srv.Close() // server → client DPR
	want(seen{false, dict.DisconnectPeer, true})
	want(seen{true, dict.DisconnectPeer, false})
	// A client's own Close sends DPR too.
	_, addr2 := startServer(t, "hss2.example.com", udrMux("two"))
	c2, err := peer.NewClient(peer.ClientOptions{
		Options: peer.Options{Local: peer.Identity{OriginHost: "as.example.com", OriginRealm: "example.com"}, Dict: d, Tap: tap},
		Peers:   []peer.PeerConfig{{Addr: addr2}},
	})
	if err != nil {
		t.Fatal(err)
	}
	go c2.Run(t.Context())
	waitConnected(t, c2, 1)
	c2.Close() // client → server DPR
	want(seen{true, dict.DisconnectPeer, true})
	want(seen{false, dict.DisconnectPeer, false})
	c.Close()
}
