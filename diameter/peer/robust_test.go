package peer_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
)

// rawAVP encodes one AVP; length < 0 writes the true length, otherwise the given one.
func rawAVP(code uint32, flags byte, vendor uint32, payload []byte, length int) []byte {
	hl := 8
	if flags&0x80 != 0 {
		hl = 12
	}
	if length < 0 {
		length = hl + len(payload)
	}
	b := make([]byte, hl, hl+len(payload)+3)
	binary.BigEndian.PutUint32(b[0:4], code)
	b[4] = flags
	b[5], b[6], b[7] = byte(length>>16), byte(length>>8), byte(length)
	if hl == 12 {
		binary.BigEndian.PutUint32(b[8:12], vendor)
	}
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// rawFrame encodes a message header (version 1, the true length) followed by body.
func rawFrame(flags byte, code, app, hbh uint32, body ...[]byte) []byte {
	b := make([]byte, 20)
	b[0] = 1
	b[4] = flags
	b[5], b[6], b[7] = byte(code>>16), byte(code>>8), byte(code)
	binary.BigEndian.PutUint32(b[8:12], app)
	binary.BigEndian.PutUint32(b[12:16], hbh)
	binary.BigEndian.PutUint32(b[16:20], hbh)
	for _, x := range body {
		b = append(b, x...)
	}
	n := len(b)
	b[1], b[2], b[3] = byte(n>>16), byte(n>>8), byte(n)
	return b
}

func str(s string) []byte { return []byte(s) }

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// goDiameterPanic is the 48-byte message of bsf's TestGoDiameterMalformedAVP (a go-diameter
// v4.1.0 decoder panic), with version 1 so that it passes framing: flags E|T, Zh MAR, one AVP
// whose length (0x303030) overruns the message.
var goDiameterPanic = []byte("\x01\x00\x0000\x00\x01/\x01\x00\x00\x05" + strings.Repeat("0", 36))

// rawPeer is a hand-driven Diameter peer on a TCP connection.
type rawPeer struct {
	t  *testing.T
	nc net.Conn
}

func dialRaw(t *testing.T, addr string) *rawPeer {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawPeer{t: t, nc: nc}
}

func (p *rawPeer) send(b []byte) {
	p.t.Helper()
	p.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

// recv reads one message; io.EOF (or a reset) means the other side closed.
func (p *rawPeer) recv() (*diam.Message, error) {
	p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	d, _ := dict.New(dict.Sh)
	return diam.ReadMessage(p.nc, d)
}

// cer is a capabilities exchange request advertising Sh.
func cer(host string) []byte {
	return rawFrame(0x80, dict.CapabilitiesExchange, 0, 1,
		rawAVP(dict.AVPOriginHost, 0x40, 0, str(host), -1),
		rawAVP(dict.AVPOriginRealm, 0x40, 0, str("example.com"), -1),
		rawAVP(dict.AVPHostIPAddress, 0x40, 0, []byte{0, 1, 127, 0, 0, 1}, -1),
		rawAVP(dict.AVPVendorID, 0x40, 0, u32(0), -1),
		rawAVP(dict.AVPProductName, 0, 0, str("raw"), -1),
		rawAVP(dict.AVPVendorSpecificApplicationID, 0x40, 0, append(
			rawAVP(dict.AVPVendorID, 0x40, 0, u32(dict.Vendor3GPP), -1),
			rawAVP(dict.AVPAuthApplicationID, 0x40, 0, u32(uint32(dict.Sh)), -1)...), -1))
}

func (p *rawPeer) handshake() {
	p.t.Helper()
	p.send(cer("raw.example.com"))
	m, err := p.recv()
	if err != nil {
		p.t.Fatalf("CEA: %v", err)
	}
	if err := peer.ResultOf(m); err != nil {
		p.t.Fatalf("CEA: %v", err)
	}
}

// alive checks that the connection still serves: DWR gets a 2001 DWA.
func (p *rawPeer) alive() {
	p.t.Helper()
	p.send(rawFrame(0x80, dict.DeviceWatchdog, 0, 77,
		rawAVP(dict.AVPOriginHost, 0x40, 0, str("raw.example.com"), -1),
		rawAVP(dict.AVPOriginRealm, 0x40, 0, str("example.com"), -1)))
	m, err := p.recv()
	if err != nil {
		p.t.Fatalf("DWA after a malformed message: %v", err)
	}
	if m.Header.CommandCode != dict.DeviceWatchdog || m.Header.HopByHopID != 77 || peer.ResultOf(m) != nil {
		p.t.Fatalf("not a successful DWA: %v", m)
	}
}

// closed checks that the other side closed the connection, sending nothing first.
func (p *rawPeer) closed() {
	p.t.Helper()
	p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := p.nc.Read(make([]byte, 1))
	var ne net.Error
	if n > 0 || err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		p.t.Fatalf("connection still open after an unframeable message (read %d, %v)", n, err)
	}
}

// shSessionAVPs are the leading AVPs of a valid Sh request.
func shSessionAVPs() [][]byte {
	return [][]byte{
		rawAVP(dict.AVPSessionID, 0x40, 0, str("raw.example.com;1;1"), -1),
		rawAVP(dict.AVPVendorSpecificApplicationID, 0x40, 0, append(
			rawAVP(dict.AVPVendorID, 0x40, 0, u32(dict.Vendor3GPP), -1),
			rawAVP(dict.AVPAuthApplicationID, 0x40, 0, u32(uint32(dict.Sh)), -1)...), -1),
		rawAVP(dict.AVPOriginHost, 0x40, 0, str("raw.example.com"), -1),
		rawAVP(dict.AVPOriginRealm, 0x40, 0, str("example.com"), -1),
	}
}

// asUDR rewrites a message's flags, command and application to an Sh UDR's, which the test
// server serves, so that the body reaches the decoder.
func asUDR(flags byte, msg []byte) []byte {
	b := bytes.Clone(msg)
	b[4] = flags
	b[5], b[6], b[7] = 0, 1, 0x32 // 306
	binary.BigEndian.PutUint32(b[8:12], uint32(dict.Sh))
	return b
}

func udrWith(extra ...[]byte) []byte {
	return rawFrame(0x80, dict.UserData, uint32(dict.Sh), 9, append(shSessionAVPs(), extra...)...)
}

// TestMalformedAnsweredRFC6733_7_1 sends requests whose header is sound but whose body is
// not: each gets the error answer of RFC 6733 §7.1.3/§7.1.5 (E bit for 3xxx), the connection
// stays up, and another peer connected throughout keeps being served.
func TestMalformedAnsweredRFC6733_7_1(t *testing.T) {
	_, addr := startServer(t, "hss1.example.com", udrMux("one"))
	c := startClient(t, peer.PeerConfig{Addr: addr, Realm: "example.com"})
	shortU32 := rawAVP(dict.AVPDataReference, 0xc0, dict.Vendor3GPP, []byte{0, 0, 0, 0, 0}, -1)
	tests := []struct {
		name   string
		msg    []byte
		want   dict.ResultCode
		failed uint32 // code of the AVP Failed-AVP must name, 0 for none
	}{
		{"go-diameter panic input as an Sh UDR (R|E bits): §7.1.3 3008 DIAMETER_INVALID_HDR_BITS",
			asUDR(0xa0, goDiameterPanic), dict.InvalidHdrBits, 0},
		{"go-diameter panic input as an Sh UDR, R bit only: §7.1.5 5014 AVP length overruns the message",
			asUDR(0x80, goDiameterPanic), dict.InvalidAVPLength, 0x30303030},
		{"§7.1.5 5014: Unsigned32 AVP with a 5-byte payload (go-diameter panics on it)",
			udrWith(shortU32), dict.InvalidAVPLength, dict.AVPDataReference},
		{"§7.1.5 5014: AVP length shorter than its header",
			udrWith(rawAVP(dict.AVPDataReference, 0xc0, dict.Vendor3GPP, u32(0), 4)), dict.InvalidAVPLength, dict.AVPDataReference},
		{"§7.1.5 5014: AVP length beyond the message",
			udrWith(rawAVP(dict.AVPDataReference, 0xc0, dict.Vendor3GPP, u32(0), 0xffffff)), dict.InvalidAVPLength, dict.AVPDataReference},
		{"§7.1.5 5014: four stray bytes where an AVP header should be",
			udrWith([]byte{0, 0, 1, 7}), dict.InvalidAVPLength, 0},
		{"§7.1.5 5004: Grouped AVP holding a member go-diameter cannot decode",
			udrWith(rawAVP(dict.AVPUserIdentity, 0xc0, dict.Vendor3GPP, shortU32, -1)), dict.InvalidAVPValue, dict.AVPUserIdentity},
		{"§7.1.3 3008: DWR with the E bit",
			rawFrame(0xa0, dict.DeviceWatchdog, 0, 9, rawAVP(dict.AVPOriginHost, 0x40, 0, str("x"), -1)), dict.InvalidHdrBits, 0},
		{"§7.1.5 5014: DWR with an overrunning AVP",
			rawFrame(0x80, dict.DeviceWatchdog, 0, 9, rawAVP(dict.AVPOriginHost, 0x40, 0, str("x"), 200)), dict.InvalidAVPLength, dict.AVPOriginHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := dialRaw(t, addr)
			p.handshake()
			p.send(tt.msg)
			a, err := p.recv()
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if a.Header.CommandFlags&diam.RequestFlag != 0 || a.Header.HopByHopID != binary.BigEndian.Uint32(tt.msg[12:16]) {
				t.Fatalf("not the answer to the request: %v", a.Header)
			}
			var rerr *peer.ResultError
			if !errors.As(peer.ResultOf(a), &rerr) || rerr.Code != tt.want {
				t.Fatalf("answer %v, want %v", peer.ResultOf(a), tt.want)
			}
			if e := a.Header.CommandFlags&diam.ErrorFlag != 0; e != (tt.want < 4000) {
				t.Errorf("E bit %v for %v", e, tt.want)
			}
			if tt.failed != 0 {
				f := peer.Children(peer.Find(a.AVP, dict.AVPFailedAVP, 0))
				if len(f) != 1 || f[0].Code != tt.failed {
					t.Errorf("Failed-AVP %v, want AVP %d", f, tt.failed)
				}
			}
			p.alive()
			if got := userData(t, mustRequest(t, c)); got != "one" {
				t.Fatalf("other peer: User-Data %q", got)
			}
		})
	}
}

func mustRequest(t *testing.T, c *peer.Client) *diam.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	a, err := c.Request(ctx, udr(t, c, dict.UserData))
	if err != nil {
		t.Fatalf("other peer not served: %v", err)
	}
	return a
}

// TestUnframeableClosesRFC6733_3 sends messages whose header cannot be trusted to frame the
// stream (RFC 6733 §3: version 1, length a multiple of 4, at least the header): the server
// closes that connection without a word and keeps serving every other peer. The same holds
// when the bad message comes first, in place of the CER.
func TestUnframeableClosesRFC6733_3(t *testing.T) {
	_, addr := startServer(t, "hss1.example.com", udrMux("one"))
	c := startClient(t, peer.PeerConfig{Addr: addr, Realm: "example.com"})
	truncated := udrWith()[:10]
	tests := []struct {
		name string
		msg  []byte
		eof  bool // then half-close, so the server reads EOF mid-message
	}{
		{"go-diameter panic input as recorded (version 0x30)", []byte("0\x00\x0000\x00\x01/\x01\x00\x00\x05" + strings.Repeat("0", 240)), false},
		{"truncated header, then EOF", truncated, true},
		{"length 12 < 20", append([]byte{1, 0, 0, 12}, make([]byte, 16)...), false},
		{"length 0xffffff", append([]byte{1, 0xff, 0xff, 0xfc}, udrWith()[4:]...), false},
		{"length not a multiple of 4", append([]byte{1, 0, 0, 22}, make([]byte, 20)...), false},
		{"length beyond what is sent, then EOF", append([]byte{1, 0, 1, 0}, udrWith()[4:]...), true},
	}
	for _, tt := range tests {
		for _, when := range []string{"after CER", "instead of CER"} {
			t.Run(tt.name+" "+when, func(t *testing.T) {
				p := dialRaw(t, addr)
				if when == "after CER" {
					p.handshake()
				}
				p.send(tt.msg)
				if tt.eof {
					p.nc.(*net.TCPConn).CloseWrite()
				}
				p.closed()
				if got := userData(t, mustRequest(t, c)); got != "one" {
					t.Fatalf("other peer: User-Data %q", got)
				}
			})
		}
	}
	// A fresh peer still gets through the capabilities exchange.
	p := dialRaw(t, addr)
	p.handshake()
	p.alive()
}

// TestMalformedCERAnswered: a CER the codec cannot decode gets a CEA with the RFC 6733
// §7.1.5 result and the connection ends (§5.3: no capabilities, no connection); an answer
// sent in place of the CER gets nothing.
func TestMalformedCERAnswered(t *testing.T) {
	_, addr := startServer(t, "hss1.example.com", udrMux("one"))
	bad := cer("raw.example.com")
	bad = append(bad, rawAVP(dict.AVPVendorID, 0x40, 0, []byte{1, 2, 3, 4, 5, 6}, -1)...)
	bad[1], bad[2], bad[3] = byte(len(bad)>>16), byte(len(bad)>>8), byte(len(bad))
	p := dialRaw(t, addr)
	p.send(bad)
	a, err := p.recv()
	if err != nil {
		t.Fatalf("no CEA: %v", err)
	}
	var rerr *peer.ResultError
	if !errors.As(peer.ResultOf(a), &rerr) || rerr.Code != dict.InvalidAVPLength {
		t.Fatalf("CEA %v, want 5014", peer.ResultOf(a))
	}
	p.closed()

	p = dialRaw(t, addr)
	p.send(goDiameterPanic)
	p.closed()
}

// TestHandlerPanicAnswered5012: a handler that panics on some request costs that request a
// DIAMETER_UNABLE_TO_COMPLY answer, not the process; the connection keeps serving.
func TestHandlerPanicAnswered5012(t *testing.T) {
	mux := udrMux("one")
	mux.HandleFunc(dict.Sh, dict.ProfileUpdate, func(ctx context.Context, req *diam.Message) (*diam.Message, error) {
		var m map[string]int
		m["x"] = 1 // a bug a crafted request reaches
		return nil, nil
	})
	_, addr := startServer(t, "hss1.example.com", mux)
	c := startClient(t, peer.PeerConfig{Addr: addr, Realm: "example.com"})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := c.Request(ctx, udr(t, c, dict.ProfileUpdate))
	a, _ := c.Request(ctx, udr(t, c, dict.ProfileUpdate))
	if a == nil || !errors.Is(peer.ResultOf(a), peer.Result(dict.UnableToComply, "")) {
		t.Fatalf("answer %v (%v), want 5012", a, err)
	}
	if got := userData(t, mustRequest(t, c)); got != "one" {
		t.Fatalf("User-Data %q after a handler panic", got)
	}
}

// fakeServer accepts connections on 127.0.0.1:0 and runs script on each after answering its
// CER with a 2001 CEA.
func fakeServer(t *testing.T, script func(n int, p *rawPeer)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		for n := 0; ; n++ {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			p := &rawPeer{t: t, nc: nc}
			func() {
				defer nc.Close()
				nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				d, _ := dict.New(dict.Sh)
				req, err := diam.ReadMessage(nc, d)
				if err != nil {
					t.Logf("fake server: CER: %v", err)
					return
				}
				a := diam.NewMessage(dict.CapabilitiesExchange, 0, 0, req.Header.HopByHopID, req.Header.EndToEndID, d)
				a.AddAVP(peer.Base(dict.AVPResultCode, datatype.Unsigned32(dict.Success)))
				a.AddAVP(peer.Base(dict.AVPOriginHost, datatype.DiameterIdentity("fake.example.com")))
				a.AddAVP(peer.Base(dict.AVPOriginRealm, datatype.DiameterIdentity("example.com")))
				a.AddAVP(peer.Base(dict.AVPHostIPAddress, datatype.Address(net.IPv4(127, 0, 0, 1).To4())))
				a.AddAVP(peer.Base(dict.AVPVendorID, datatype.Unsigned32(0)))
				a.AddAVP(diam.NewAVP(dict.AVPProductName, 0, 0, datatype.UTF8String("fake")))
				a.AddAVP(peer.VSAI(dict.Sh))
				if _, err := a.WriteTo(nc); err != nil {
					t.Logf("fake server: CEA: %v", err)
					return
				}
				script(n, p)
			}()
		}
	}()
	return l.Addr().String()
}

// readRaw reads one frame as bytes.
func (p *rawPeer) readRaw() ([]byte, error) {
	p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, 20)
	if _, err := io.ReadFull(p.nc, hdr); err != nil {
		return nil, err
	}
	n := int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
	b := make([]byte, n)
	copy(b, hdr)
	_, err := io.ReadFull(p.nc, b[20:])
	return b, err
}

// TestClientSurvivesMalformedFromServer: a server (an HSS, a BSF) that answers with
// undecodable or unframeable messages costs the client that request or that connection,
// never the process; the client answers malformed requests per RFC 6733 §7.1 and reconnects
// after a connection it had to drop.
func TestClientSurvivesMalformedFromServer(t *testing.T) {
	shortU32 := rawAVP(dict.AVPDataReference, 0xc0, dict.Vendor3GPP, []byte{0, 0, 0, 0, 0}, -1)
	results := make(chan string, 8)
	addr := fakeServer(t, func(n int, p *rawPeer) {
		switch n {
		case 0:
			// A request go-diameter cannot decode, then the panic input as an answer to the UDR.
			p.send(rawFrame(0x80, dict.DeviceWatchdog, 0, 5, rawAVP(dict.AVPOriginHost, 0x40, 0, str("fake"), 99)))
			b, err := p.readRaw()
			if err != nil {
				results <- "no answer to the malformed DWR: " + err.Error()
				return
			}
			d, _ := dict.New(dict.Sh)
			a, err := diam.ReadMessage(bytes.NewReader(b), d)
			if err != nil {
				results <- "answer undecodable: " + err.Error()
				return
			}
			results <- peer.ResultOf(a).Error()
			b, err = p.readRaw() // the client's UDR
			if err != nil {
				results <- "no UDR: " + err.Error()
				return
			}
			ans := udrWith(shortU32)
			ans[4] = 0x40 // an answer
			copy(ans[12:20], b[12:20])
			p.send(ans)
			// Then a frame too long to trust: the client must drop the connection.
			b, err = p.readRaw() // the second UDR
			if err != nil {
				results <- "no second UDR: " + err.Error()
				return
			}
			p.send(append([]byte{1, 0xff, 0xff, 0xfc}, b[4:20]...))
			p.closed()
			results <- "closed"
		default:
			// A sound server: answer every UDR.
			for {
				b, err := p.readRaw()
				if err != nil {
					return
				}
				d, _ := dict.New(dict.Sh)
				req, err := diam.ReadMessage(bytes.NewReader(b), d)
				if err != nil {
					return
				}
				a := req.Answer(2001)
				a.AddAVP(peer.Vendor3GPP(dict.AVPUserData, true, datatype.OctetString("fine")))
				if _, err := a.WriteTo(p.nc); err != nil {
					return
				}
			}
		}
	})
	c := startClient(t, peer.PeerConfig{Addr: addr, Realm: "example.com"})
	result := func() string {
		select {
		case got := <-results:
			return got
		case <-time.After(5 * time.Second):
			t.Fatal("fake server script stuck")
			return ""
		}
	}
	if got := result(); !strings.Contains(got, "DIAMETER_INVALID_AVP_LENGTH") && !strings.Contains(got, "5014") {
		t.Fatalf("client's answer to a malformed DWR: %s", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.Request(ctx, udr(t, c, dict.UserData)); !errors.Is(err, peer.ErrMalformed) {
		t.Fatalf("request answered with a malformed answer: err %v, want ErrMalformed", err)
	}
	// The second UDR loses its connection; the client reconnects and the next one succeeds.
	if _, err := c.Request(ctx, udr(t, c, dict.UserData)); err == nil {
		t.Fatal("request answered on a connection that sent an unframeable message")
	}
	if got := result(); got != "closed" {
		t.Fatal(got)
	}
	for {
		a, err := c.Request(ctx, udr(t, c, dict.UserData))
		if err == nil {
			if got := userData(t, a); got != "fine" {
				t.Fatalf("User-Data %q", got)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("no request succeeded after the client dropped a bad connection: %v", err)
		}
	}
}

// emfileListener fails its first Accepts the way a process out of file descriptors does.
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

// TestServerSurvivesAcceptErrors: a connection flood that exhausts file descriptors makes
// accept fail with EMFILE; the server must keep accepting once descriptors are free again
// (before, the first such error ended Serve, and with it the HSS simulator or the Zn server).
func TestServerSurvivesAcceptErrors(t *testing.T) {
	d, err := dict.New(dict.Sh)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := peer.NewServer(peer.Options{
		Local: peer.Identity{OriginHost: "hss1.example.com", OriginRealm: "example.com"},
		Dict:  d, Mux: udrMux("one"), Log: logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &emfileListener{Listener: inner}
	l.fail.Store(5)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(t.Context(), l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, peer.ErrServerClosed) {
			t.Error(err)
		}
	})
	c := startClient(t, peer.PeerConfig{Addr: inner.Addr().String(), Realm: "example.com"})
	if got := userData(t, mustRequest(t, c)); got != "one" {
		t.Fatalf("User-Data %q", got)
	}
	if l.fail.Load() >= 0 {
		t.Fatal("the injected accept errors were not hit")
	}
}
