package isc

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// testClock is an injected clock that tests move forward.
type testClock struct {
	base time.Time
	off  atomic.Int64
}

func newTestClock() *testClock { return &testClock{base: time.Unix(1_700_000_000, 0)} }

func (c *testClock) now() time.Time          { return c.base.Add(time.Duration(c.off.Load())) }
func (c *testClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// withCompletedCache replaces the server's response cache (clock, bound).
func withCompletedCache(maxBytes int, clock *testClock) Option {
	return func(s *Server) { s.completed = newResponseCache(64*sip.T1, maxBytes, clock.now) }
}

func TestResponseCache(t *testing.T) {
	timerJ := 64 * sip.T1 // 32 s with the default T1
	dst := netip.MustParseAddrPort("192.0.2.7:5062")
	tests := []struct {
		name  string
		after time.Duration // between put and get
		want  bool
	}{
		{"RFC 3261 §17.2.2: at once", 0, true},
		{"RFC 3261 §17.2.2: within Timer J", timerJ - time.Millisecond, true},
		{"RFC 3261 §17.2.2: at Timer J", timerJ, true},
		{"RFC 3261 §17.2.2: Timer J fired, entry gone", timerJ + time.Second, false},
		{"RFC 3261 §17.2.2: long after", 10 * timerJ, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock()
			clock.advance(700 * time.Millisecond) // puts land mid-second
			c := newResponseCache(timerJ, 1<<20, clock.now)
			k := c.key("z9hG4bK-1__192.0.2.7__5062__PUBLISH")
			wire := []byte("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n")
			if _, ok := c.put(k, wire, dst); !ok {
				t.Fatal("put refused")
			}
			clock.advance(tc.after)
			got, gotDst, ok := c.get(k)
			if ok != tc.want {
				t.Fatalf("get after %s: found %v, want %v", tc.after, ok, tc.want)
			}
			if ok && (!bytes.Equal(got, wire) || gotDst != dst) {
				t.Fatalf("get = %q to %s, want %q to %s", got, gotDst, wire, dst)
			}
			if !ok {
				if n, _ := c.stats(); n != 0 {
					t.Fatalf("%d entries left after expiry", n)
				}
			}
		})
	}
}

func TestResponseCacheDestinations(t *testing.T) {
	c := newResponseCache(time.Second, 1<<20, newTestClock().now)
	for i, d := range []string{"127.0.0.1:5060", "[::1]:5060", "[2001:db8::7]:65535", "[::ffff:192.0.2.1]:1", "10.0.0.1:0"} {
		dst := netip.MustParseAddrPort(d)
		k := c.key(d)
		if _, ok := c.put(k, []byte{byte(i)}, dst); !ok {
			t.Fatal("put refused")
		}
		if _, got, ok := c.get(k); !ok || got != dst {
			t.Errorf("destination %s came back as %s (%v)", dst, got, ok)
		}
	}
}

func TestResponseCacheBounded(t *testing.T) {
	clock := newTestClock()
	const max = 16 * cacheChunk
	c := newResponseCache(32*time.Second, max, clock.now)
	wire := bytes.Repeat([]byte("x"), 500)
	dst := netip.MustParseAddrPort("127.0.0.1:5060")
	var keys []txKey
	// 30 seconds of 1,000 responses each: far more than the bound holds.
	for sec := 0; sec < 30; sec++ {
		for i := 0; i < 1000; i++ {
			k := c.key(fmt.Sprintf("z9hG4bK-%d-%d", sec, i))
			keys = append(keys, k)
			if _, ok := c.put(k, wire, dst); !ok {
				t.Fatalf("put refused at second %d", sec)
			}
			if _, held := c.stats(); held > max {
				t.Fatalf("second %d: %d bytes held, bound %d", sec, held, max)
			}
		}
		clock.advance(time.Second)
	}
	clock.advance(-time.Second)
	if _, _, ok := c.get(keys[len(keys)-1]); !ok {
		t.Error("newest response evicted")
	}
	if _, _, ok := c.get(keys[0]); ok {
		t.Error("oldest response kept beyond the bound")
	}
	if c.evicted == 0 {
		t.Error("no early eviction counted")
	}
	// A response that cannot fit even alone is refused (the caller keeps its transaction).
	if _, ok := c.put(c.key("huge"), make([]byte, max), dst); ok {
		t.Error("response larger than the bound accepted")
	}
}

// udpPeer sends raw datagrams to the server, so that a retransmission is byte for byte the
// same request.
type udpPeer struct {
	t    *testing.T
	conn net.PacketConn
	to   *net.UDPAddr
}

func newUDPPeer(t *testing.T, server string) *udpPeer {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	to, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	return &udpPeer{t: t, conn: conn, to: to}
}

func (p *udpPeer) send(b []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteTo(b, p.to); err != nil {
		p.t.Fatal(err)
	}
}

// recv reads the next datagram (the deadline only guards against a hang).
func (p *udpPeer) recv() []byte {
	p.t.Helper()
	buf := make([]byte, 65535)
	p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := p.conn.ReadFrom(buf)
	if err != nil {
		p.t.Fatalf("no response: %v", err)
	}
	return buf[:n]
}

// rawRequest is a complete request as the peer puts it on the wire.
func (p *udpPeer) rawRequest(method, branch, cseq string, body []byte, hdrs ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:alice@example.com SIP/2.0\r\n", method)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=%s;rport\r\n", p.conn.LocalAddr(), branch)
	b.WriteString("Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=pua1\r\nTo: <sip:alice@example.com>\r\n")
	fmt.Fprintf(&b, "Call-ID: %s@test\r\nCSeq: %s %s\r\n", branch, cseq, method)
	for _, h := range hdrs {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	return []byte(b.String())
}

func (p *udpPeer) publish(branch string, hdrs ...string) []byte {
	return p.rawRequest("PUBLISH", branch, "1", []byte(pidfBody),
		append([]string{"Event: presence", "Expires: 3600", "Content-Type: application/pidf+xml"}, hdrs...)...)
}

func statusOf(t *testing.T, wire []byte) (int, string) {
	t.Helper()
	msg, err := sip.NewParser().ParseSIP(wire)
	if err != nil {
		t.Fatalf("response %q: %v", wire, err)
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		t.Fatalf("not a response: %q", wire)
	}
	return res.StatusCode, res.CSeq().MethodName.String()
}

func (f *fakePresence) publishCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.publishes)
}

func TestRetransmissionAfterFinalResponse(t *testing.T) {
	clock := newTestClock()
	f, s, udp, _ := startFake(t, nil, withCompletedCache(defaultResponseCacheBytes, clock))
	tests := []struct {
		name       string
		branch     string
		after      time.Duration // clock moved before the retransmission
		wantCalls  int           // Publish calls the core saw in all
		wantReplay bool          // the retransmission got the first response's bytes
	}{
		{"RFC 3261 §17.2.2: retransmission in Completed gets the same response, core sees one PUBLISH", "z9hG4bK-r0", time.Second, 1, true},
		{"RFC 3261 §17.2.2: retransmission just before Timer J fires", "z9hG4bK-r1", 64*sip.T1 - time.Second, 1, true},
		{"RFC 3261 §17.2.2: after Timer J the request is new", "z9hG4bK-r2", 64*sip.T1 + 2*time.Second, 2, false},
		{"RFC 3261 §17.2.3: branch without magic cookie matched by the RFC 2543 fallback", "old-style-1", time.Second, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			f.publishes = nil
			f.mu.Unlock()
			p := newUDPPeer(t, udp)
			req := p.publish(tc.branch)
			p.send(req)
			first := p.recv()
			if code, _ := statusOf(t, first); code != 200 {
				t.Fatalf("first PUBLISH: %d", code)
			}
			clock.advance(tc.after)
			p.send(req) // byte for byte the same request
			again := p.recv()
			if code, _ := statusOf(t, again); code != 200 {
				t.Fatalf("retransmission: %d", code)
			}
			if got := bytes.Equal(first, again); got != tc.wantReplay {
				t.Fatalf("identical response = %v, want %v\nfirst:\n%s\nagain:\n%s", got, tc.wantReplay, first, again)
			}
			if n := f.publishCount(); n != tc.wantCalls {
				t.Fatalf("presence core saw %d PUBLISH, want %d", n, tc.wantCalls)
			}
		})
	}
	if n, _ := s.completed.stats(); n == 0 {
		t.Error("UDP responses not cached")
	}
}

func TestRetransmissionDuringProcessing(t *testing.T) {
	f, s, udp, _ := startFake(t, nil)
	entered, release := make(chan struct{}), make(chan struct{})
	f.mu.Lock()
	f.entered, f.release = entered, release
	f.mu.Unlock()
	p := newUDPPeer(t, udp)
	req := p.publish("z9hG4bK-slow")
	p.send(req)
	<-entered // the core is processing the PUBLISH: sipgo's transaction is in Trying
	for range 3 {
		p.send(req) // RFC 3261 §17.2.2: Trying absorbs retransmissions
	}
	f.mu.Lock()
	f.entered, f.release = nil, nil
	f.mu.Unlock()
	close(release)
	first := p.recv()
	if code, method := statusOf(t, first); code != 200 || method != "PUBLISH" {
		t.Fatalf("PUBLISH answered %d to %s", code, method)
	}
	// A retransmission that sipgo handles only after the response was sent is answered
	// again (Completed state), with the same bytes; none reaches the core.
	p.send(p.rawRequest("OPTIONS", "z9hG4bK-after", "2", nil))
	for {
		next := p.recv()
		code, method := statusOf(t, next)
		if method == "OPTIONS" {
			break
		}
		if !bytes.Equal(next, first) {
			t.Fatalf("retransmission answered %d\n%s\nwant\n%s", code, next, first)
		}
	}
	if n := f.publishCount(); n != 1 {
		t.Fatalf("presence core saw %d PUBLISH, want 1", n)
	}
	// Once answered, a further retransmission gets the response from the cache.
	p.send(req)
	if again := p.recv(); !bytes.Equal(again, first) {
		t.Fatalf("late retransmission answered\n%s\nwant\n%s", again, first)
	}
	if n := f.publishCount(); n != 1 {
		t.Fatalf("presence core saw %d PUBLISH, want 1", n)
	}
	if n, _ := s.completed.stats(); n != 2 {
		t.Fatalf("%d cached responses, want 2 (PUBLISH, OPTIONS)", n)
	}
}

func TestRetransmissionOverTCPNotCached(t *testing.T) {
	f, s, _, tcp := startFake(t, nil)
	p := newPeer(t, "TCP")
	from, to := fromTo("sip:alice@example.com", "sip:alice@example.com")
	res := p.do(p.request(sip.PUBLISH, "sip:alice@example.com", tcp, []byte(pidfBody),
		from, to, "Event: presence", "Expires: 3600", "Content-Type: application/pidf+xml"))
	if res.StatusCode != 200 || f.publishCount() != 1 {
		t.Fatalf("PUBLISH over TCP: %d, core saw %d", res.StatusCode, f.publishCount())
	}
	// RFC 3261 §17.2.2: Timer J is zero on reliable transports, so nothing is kept.
	if n, held := s.completed.stats(); n != 0 || held != 0 {
		t.Fatalf("TCP response cached: %d entries, %d bytes", n, held)
	}
}
