package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	gdict "github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/icholy/digest"

	"github.com/imsps/imsps/bsf/bsftest"
	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
)

// The tests in this file throw hostile input at every listener of a running imsps and check
// that nothing panics (a panic in any goroutine ends the test binary), that the input gets a
// clear answer or a closed connection, and that the listener keeps serving afterwards.

// sipRequest builds a request from loopback for alice; extra headers go before
// Content-Length, which is len(body) unless cl >= 0.
func sipRequest(method, transport, local, branch string, extra []string, body string, cl int) string {
	if cl < 0 {
		cl = len(body)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:alice@example.com SIP/2.0\r\n", method)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK-%s;rport\r\n", transport, local, branch)
	b.WriteString("Max-Forwards: 70\r\n")
	b.WriteString("From: <sip:alice@example.com>;tag=robust\r\n")
	b.WriteString("To: <sip:alice@example.com>\r\n")
	fmt.Fprintf(&b, "Call-ID: robust-%s@127.0.0.1\r\n", branch)
	fmt.Fprintf(&b, "CSeq: 1 %s\r\n", method)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", cl, body)
	return b.String()
}

// udpExchange sends one datagram and returns the first final response, or "" when none
// comes within wait.
func udpExchange(t *testing.T, server string, msg []byte, wait time.Duration) string {
	t.Helper()
	conn, err := net.Dial("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(msg); err != nil {
		return "" // the kernel refused it (too big): nothing reached imsps
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 65535)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return ""
		}
		if res := string(buf[:n]); !strings.HasPrefix(res, "SIP/2.0 1") {
			return res
		}
	}
}

// statusOf is the status code of a response's first line, 0 if it is not one.
func statusOf(res string) int {
	var code int
	fmt.Sscanf(res, "SIP/2.0 %d", &code)
	return code
}

// sipAlive checks that the SIP listeners still serve: a PUBLISH over UDP and another over
// TCP are answered 200.
func sipAlive(t *testing.T, s *stack) {
	t.Helper()
	// Each check removes its publication again: a presentity holds at most
	// presence.max_publications of them.
	etag := publishDevice(t, s.addr["sip.udp"].String(), busyPIDF, "", 600)
	publishDevice(t, s.addr["sip.udp"].String(), "", etag, 0)
	conn, err := net.Dial("tcp", s.addr["sip.tcp"].String())
	if err != nil {
		t.Fatalf("SIP TCP listener gone: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	req := sipRequest("PUBLISH", "TCP", conn.LocalAddr().String(), fmt.Sprintf("alive-%d", time.Now().UnixNano()),
		[]string{"Event: presence", "Expires: 600", "Content-Type: application/pidf+xml"}, busyPIDF, -1)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	res, err := readSIPResponse(r)
	if err != nil || statusOf(res) != 200 {
		t.Fatalf("PUBLISH over TCP after the attack: %q, %v", res, err)
	}
	etag = headerOf(res, "SIP-ETag")
	req = sipRequest("PUBLISH", "TCP", conn.LocalAddr().String(), fmt.Sprintf("alive-rm-%d", time.Now().UnixNano()),
		[]string{"Event: presence", "Expires: 0", "SIP-If-Match: " + etag}, "", -1)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	if res, err := readSIPResponse(r); err != nil || statusOf(res) != 200 {
		t.Fatalf("removing the TCP publication: %q, %v", res, err)
	}
}

// headerOf is the value of the first header of that name in a message.
func headerOf(msg, name string) string {
	head, _, _ := strings.Cut(msg, "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// readSIPResponse reads one final response from a stream (header and Content-Length body).
func readSIPResponse(r *bufio.Reader) (string, error) {
	for {
		var head strings.Builder
		cl := 0
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return head.String(), err
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
			if k, v, ok := strings.Cut(line, ":"); ok && (strings.EqualFold(strings.TrimSpace(k), "Content-Length") || strings.TrimSpace(k) == "l") {
				fmt.Sscanf(strings.TrimSpace(v), "%d", &cl)
			}
		}
		body := make([]byte, cl)
		if _, err := io.ReadFull(r, body); err != nil {
			return head.String(), err
		}
		if res := head.String() + string(body); !strings.HasPrefix(res, "SIP/2.0 1") {
			return res, nil
		}
	}
}

// TestSIPHostileDatagrams (RFC 3261 §18.3, §16.3-style checks of a UAS): malformed UDP input
// gets a 400 when there is enough of a request to answer, else nothing; the listener keeps
// serving.
func TestSIPHostileDatagrams(t *testing.T) {
	s := startStack(t, testConfig(t))
	udp := s.addr["sip.udp"].String()
	local := "127.0.0.1:9"
	pub := []string{"Event: presence", "Expires: 600", "Content-Type: application/pidf+xml"}
	tests := []struct {
		name string
		msg  string
		want []int // acceptable final statuses; nil: no answer expected (nothing to answer)
	}{
		{"garbage", "\x00\xff\xfe garbage \r\n\r\n", nil},
		{"only CRLFs (RFC 5626 keep-alive shape)", "\r\n\r\n", nil},
		{"request line only", "PUBLISH sip:alice@example.com SIP/2.0\r\n", nil},
		{"truncated header block", sipRequest("PUBLISH", "UDP", local, "trunc", pub, busyPIDF, -1)[:120], nil},
		// RFC 3261 §18.3 says a request whose datagram ends before Content-Length SHOULD get a
		// 400; the SIP stack drops it (no answer), which is allowed and harmless.
		{"RFC 3261 §18.3: Content-Length larger than the body", sipRequest("PUBLISH", "UDP", local, "clbig", pub, busyPIDF, len(busyPIDF)+500), nil},
		{"Content-Length negative", strings.Replace(sipRequest("PUBLISH", "UDP", local, "clneg", pub, "", 0), "Content-Length: 0", "Content-Length: -5", 1), nil},
		{"Content-Length huge", strings.Replace(sipRequest("PUBLISH", "UDP", local, "clhuge", pub, "", 0), "Content-Length: 0", "Content-Length: 99999999999999999999", 1), nil},
		{"Expires overflow", sipRequest("PUBLISH", "UDP", local, "exp", []string{"Event: presence", "Expires: 99999999999999999999", "Content-Type: application/pidf+xml"}, busyPIDF, -1), []int{200, 400, 423}},
		{"Via without branch or host", strings.Replace(sipRequest("PUBLISH", "UDP", local, "via", pub, busyPIDF, -1), "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-via;rport", "Via: SIP/2.0/UDP", 1), nil},
		{"CSeq method mismatch", strings.Replace(sipRequest("PUBLISH", "UDP", local, "cseq", pub, busyPIDF, -1), "CSeq: 1 PUBLISH", "CSeq: 1 SUBSCRIBE", 1), []int{200, 400}},
		{"bad Event parameters", sipRequest("PUBLISH", "UDP", local, "ev", []string{"Event: presence;;;=;id=\"", "Expires: 600", "Content-Type: application/pidf+xml"}, busyPIDF, -1), []int{400, 489}},
		{"body not XML", sipRequest("PUBLISH", "UDP", local, "xml", pub, "<presence", -1), []int{400}},
		{"billion laughs PIDF", sipRequest("PUBLISH", "UDP", local, "lol", pub, lolz, -1), []int{400}},
		{"SUBSCRIBE with Expires garbage", sipRequest("SUBSCRIBE", "UDP", local, "sub", []string{"Event: presence", "Expires: ten", "Contact: <sip:alice@127.0.0.1:9>"}, "", -1), []int{400}},
		// Above the SIP stack's 64 KiB read buffer once the headers are counted: dropped.
		{"64 KB datagram", sipRequest("PUBLISH", "UDP", local, "big", append(pub[:3:3], "X-Pad: "+strings.Repeat("a", 64000)), busyPIDF, -1), nil},
		{"65507-byte datagram of garbage", strings.Repeat("A", 65507), nil},
		// Responses nobody asked for (the NOTIFY client side reads this socket too).
		{"response without Via", "SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n", nil},
		{"response to an unknown NOTIFY", "SIP/2.0 481 Gone\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-nobody\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n", nil},
		{"response with status 99999", "SIP/2.0 99999 Odd\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-x\r\nCall-ID: x\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n", nil},
		{"response with CSeq without method", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-y\r\nCall-ID: x\r\nCSeq: 1\r\nContent-Length: 0\r\n\r\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wait := 2 * time.Second
			if tt.want == nil {
				wait = 200 * time.Millisecond
			}
			res := udpExchange(t, udp, []byte(tt.msg), wait)
			if tt.want == nil {
				if res != "" && statusOf(res) == 0 {
					t.Errorf("answered with something that is not a response: %q", res)
				}
			} else {
				code := statusOf(res)
				ok := false
				for _, w := range tt.want {
					ok = ok || code == w
				}
				if !ok {
					t.Errorf("answer %q, want one of %v", firstLine(res), tt.want)
				}
			}
			sipAlive(t, s)
		})
	}
}

const lolz = `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="a"><status><basic>&lol3;</basic></status></tuple></presence>`

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}

// TestSIPHeaderInjection (RFC 3261 §7.3.1, §25.1): a bare CR or LF inside a header value must
// not become a header line of its own in the answer, whichever value is echoed (Via, From,
// To, Call-ID, CSeq) or quoted (Warning).
func TestSIPHeaderInjection(t *testing.T) {
	s := startStack(t, testConfig(t))
	udp := s.addr["sip.udp"].String()
	pub := []string{"Event: presence", "Expires: 600", "Content-Type: application/pidf+xml"}
	base := sipRequest("PUBLISH", "UDP", "127.0.0.1:9", "inj", pub, busyPIDF, -1)
	tests := []struct{ name, from, to string }{
		{"Call-ID with bare LF", "Call-ID: robust-inj@127.0.0.1", "Call-ID: robust-inj@127.0.0.1\nX-Injected: 1"},
		{"Call-ID with bare CR", "Call-ID: robust-inj@127.0.0.1", "Call-ID: robust-inj@127.0.0.1\rX-Injected: 1"},
		{"From tag with bare LF", "tag=robust", "tag=robust\nX-Injected: 1"},
		{"To display name with bare LF", "To: <sip:alice", "To: \"a\nX-Injected: 1\" <sip:alice"},
		{"Via branch with bare LF", ";rport", ";rport;x=\nX-Injected: 1"},
		{"Event with bare LF (quoted in Warning)", "Event: presence", "Event: presence\nX-Injected: 1"},
		{"Expires with bare CR", "Expires: 600", "Expires: 600\rX-Injected: 1"},
		{"Call-ID with NUL and bare LF", "Call-ID: robust-inj@127.0.0.1", "Call-ID: robust\x00inj\nX-Injected: 1"},
		{"CSeq with bare LF", "CSeq: 1 PUBLISH", "CSeq: 1 PUBLISH\nX-Injected: 1"},
		{"To tag with bare LF", "To: <sip:alice@example.com>", "To: <sip:alice@example.com>;tag=a\nX-Injected: 1"},
		{"From display name with bare LF", "From: <sip:alice", "From: \"a\nX-Injected: 1\" <sip:alice"},
		{"Via sent-by with bare LF", "Via: SIP/2.0/UDP 127.0.0.1:9", "Via: SIP/2.0/UDP 127.0.0.1:9\nX-Injected: 1"},
		{"percent-encoded CRLF in the From URI", "From: <sip:alice@example.com>", "From: <sip:alice%0d%0aX-Injected:%201@example.com>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := strings.Replace(base, tt.from, tt.to, 1)
			if msg == base {
				t.Fatalf("%q not in the request", tt.from)
			}
			res := udpExchange(t, udp, []byte(msg), 300*time.Millisecond)
			head, _, _ := strings.Cut(res, "\r\n\r\n")
			if echoed := strings.HasPrefix(tt.to, "Call-ID") || strings.HasPrefix(tt.to, "CSeq"); echoed && res != "" && statusOf(res) != 400 {
				t.Errorf("answer %q, want 400 (a value every answer echoes holds a control character)", firstLine(res))
			}
			for _, line := range strings.FieldsFunc(head, func(r rune) bool { return r == '\r' || r == '\n' }) {
				if strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "x-injected") {
					t.Fatalf("injected header line in the answer:\n%s", res)
				}
			}
			sipAlive(t, s)
		})
	}
}

// TestSIPHostileStreams (RFC 3261 §18.3 framing over TCP): garbage, a header block that never
// ends, a Content-Length the body never reaches, a message above 64 KiB, a thousand idle
// connections and a slow sender: none of them stops the TCP listener from serving others.
func TestSIPHostileStreams(t *testing.T) {
	s := startStack(t, testConfig(t))
	tcp := s.addr["sip.tcp"].String()
	pub := []string{"Event: presence", "Expires: 600", "Content-Type: application/pidf+xml"}
	dial := func(t *testing.T) net.Conn {
		c, err := net.Dial("tcp", tcp)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	t.Run("garbage then a valid request on the same connection", func(t *testing.T) {
		c := dial(t)
		io.WriteString(c, "\x00\x01garbage that is no SIP at all\r\n\r\n")
		io.WriteString(c, sipRequest("PUBLISH", "TCP", c.LocalAddr().String(), "g1", pub, busyPIDF, -1))
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		res, err := readSIPResponse(bufio.NewReader(c))
		// Either the stream is resynchronised and the PUBLISH answered, or the connection is closed.
		if err == nil && statusOf(res) == 0 {
			t.Fatalf("answered %q", res)
		}
		sipAlive(t, s)
	})
	t.Run("header block without end, above 64 KiB", func(t *testing.T) {
		c := dial(t)
		io.WriteString(c, "PUBLISH sip:alice@example.com SIP/2.0\r\n")
		line := "X-Pad: " + strings.Repeat("b", 1000) + "\r\n"
		var werr error
		for i := 0; i < 200 && werr == nil; i++ {
			c.SetWriteDeadline(time.Now().Add(3 * time.Second))
			_, werr = io.WriteString(c, line)
		}
		// imsps must drop the connection (or answer 4xx/5xx) instead of buffering without bound.
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		res, err := readSIPResponse(bufio.NewReader(c))
		if werr == nil && err != nil && isTimeout(err) {
			t.Fatalf("connection kept open after %d KiB of header", 200)
		}
		_ = res
		sipAlive(t, s)
	})
	t.Run("Content-Length larger than the body, connection held", func(t *testing.T) {
		c := dial(t)
		io.WriteString(c, sipRequest("PUBLISH", "TCP", c.LocalAddr().String(), "cl1", pub, busyPIDF, len(busyPIDF)+1000))
		sipAlive(t, s)
	})
	t.Run("Content-Length beyond 64 KiB", func(t *testing.T) {
		c := dial(t)
		io.WriteString(c, sipRequest("PUBLISH", "TCP", c.LocalAddr().String(), "cl2", pub, "", 1<<30))
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		res, err := readSIPResponse(bufio.NewReader(c))
		if err != nil && isTimeout(err) {
			t.Fatalf("a 1 GiB Content-Length neither answered nor closed (%q)", res)
		}
		sipAlive(t, s)
	})
	t.Run("message of 70 KB", func(t *testing.T) {
		c := dial(t)
		big := sipRequest("PUBLISH", "TCP", c.LocalAddr().String(), "big", append(pub[:3:3], "X-Pad: "+strings.Repeat("c", 70000)), busyPIDF, -1)
		c.SetWriteDeadline(time.Now().Add(3 * time.Second))
		io.WriteString(c, big)
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		res, err := readSIPResponse(bufio.NewReader(c))
		if err != nil && isTimeout(err) {
			t.Fatalf("a 70 KB message neither answered nor closed (%q)", res)
		}
		sipAlive(t, s)
	})
	t.Run("1000 connections that never send", func(t *testing.T) {
		var conns []net.Conn
		for i := 0; i < 1000; i++ {
			c, err := net.Dial("tcp", tcp)
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			conns = append(conns, c)
		}
		t.Cleanup(func() {
			for _, c := range conns {
				c.Close()
			}
		})
		sipAlive(t, s)
	})
	t.Run("slow sender, one byte at a time", func(t *testing.T) {
		c := dial(t)
		req := sipRequest("PUBLISH", "TCP", c.LocalAddr().String(), "slow", pub, busyPIDF, -1)
		var wg sync.WaitGroup
		wg.Add(1)
		stop := make(chan struct{})
		go func() {
			defer wg.Done()
			for i := 0; i < len(req)/2; i++ {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				if _, err := c.Write([]byte{req[i]}); err != nil {
					return
				}
			}
		}()
		sipAlive(t, s)
		close(stop)
		wg.Wait()
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return err != nil && (bytes.Contains([]byte(err.Error()), []byte("timeout")) || (asNetErr(err, &ne) && ne.Timeout()))
}

func asNetErr(err error, ne *net.Error) bool {
	e, ok := err.(net.Error)
	if ok {
		*ne = e
	}
	return ok
}

// httpDo sends one request with a bounded wait and returns its status (0 and the error when
// the connection failed) and up to 4 KiB of body.
func httpDo(t *testing.T, c *http.Client, method, url string, hdr map[string]string, body io.Reader) (int, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	return res.StatusCode, string(b), nil
}

// xcapAlive checks that the XCAP server still serves: alice writes and reads her
// pidf-manipulation document with HTTP Digest.
func xcapAlive(t *testing.T, s *stack) {
	t.Helper()
	c := &http.Client{Transport: &digest.Transport{Username: "alice@example.com", Password: "alice"}}
	doc := "http://" + s.addr["xcap.listen"].String() + "/xcap-root/pidf-manipulation/users/sip:alice@example.com/index"
	code, body, err := httpDo(t, c, "PUT", doc, map[string]string{"Content-Type": "application/pidf+xml"},
		strings.NewReader(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>`))
	if err != nil || code/100 != 2 {
		t.Fatalf("XCAP PUT after the attack: %d %s %v", code, body, err)
	}
	if code, body, err := httpDo(t, c, "GET", doc, nil, nil); err != nil || code != 200 {
		t.Fatalf("XCAP GET after the attack: %d %s %v", code, body, err)
	}
}

// nested returns a pidf document with n nested extension elements (7 bytes a level).
func nested(n int) string {
	return `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><x xmlns="urn:x">` +
		strings.Repeat("<e>", n) + strings.Repeat("</e>", n) + `</x></presence>`
}

// manyAttributes returns a pidf document whose root has n attributes.
func manyAttributes(n int) string {
	var b strings.Builder
	b.WriteString(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, ` a%d="v"`, i)
	}
	b.WriteString(`/>`)
	return b.String()
}

// TestXCAPHostileRequests (RFC 4825 §8.2.1, §11; RFC 7616): oversized, deeply nested and
// entity-expanding documents, attribute bombs, huge headers, invalid UTF-8 in the path and
// malformed Digest credentials get a 4xx, and the XCAP server keeps serving.
func TestXCAPHostileRequests(t *testing.T) {
	s := startStack(t, testConfig(t))
	root := "http://" + s.addr["xcap.listen"].String() + "/xcap-root"
	doc := root + "/pidf-manipulation/users/sip:alice@example.com/index"
	alice := &http.Client{Transport: &digest.Transport{Username: "alice@example.com", Password: "alice"}}
	anon := &http.Client{}
	pidf := map[string]string{"Content-Type": "application/pidf+xml"}
	digestHdr := func(v string) map[string]string { return map[string]string{"Authorization": v} }
	tests := []struct {
		name   string
		client *http.Client
		method string
		url    string
		hdr    map[string]string
		body   string
	}{
		{"RFC 4825 §8.2.1: document above max_document_size", alice, "PUT", doc, pidf, `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><!--` + strings.Repeat("x", 2<<20) + `--></presence>`},
		{"billion laughs (DTD refused)", alice, "PUT", doc, pidf, lolz},
		{"external entity (DTD refused)", alice, "PUT", doc, pidf, `<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><note>&x;</note></presence>`},
		{"140,000 nested elements (within max_document_size)", alice, "PUT", doc, pidf, nested(140000)},
		{"300,000 nested elements", alice, "PUT", doc, pidf, nested(300000)},
		{"80,000 attributes on one element (within max_document_size)", alice, "PUT", doc, pidf, manyAttributes(80000)},
		{"80,000 namespace declarations and prefixed attributes", alice, "PUT", doc, pidf, `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"` +
			strings.Repeat(` xmlns:p="urn:p"`, 1) + strings.Repeat(` xmlns:q="urn:q"`, 40000) + `/>`},
		{"30,000 elements each declaring a namespace", alice, "PUT", doc, pidf, `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">` + strings.Repeat("<n:x xmlns:n=\"urn:n\"/>", 30000) + `</presence>`},
		{"not UTF-8", alice, "PUT", doc, pidf, "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:alice@example.com\"><note>\xff\xfe</note></presence>"},
		{"invalid UTF-8 in the XUI", alice, "GET", root + "/pidf-manipulation/users/sip:%ff%fe@example.com/index", nil, ""},
		{"invalid UTF-8 in the node selector", alice, "GET", doc + "/~~/presence/tuple%5b@id=%22%ff%22%5d", nil, ""},
		{"10,000-step node selector", alice, "GET", doc + "/~~" + strings.Repeat("/a", 10000), nil, ""},
		{"deeply bracketed node selector", alice, "GET", doc + "/~~/presence/tuple" + strings.Repeat("%5b", 5000), nil, ""},
		{"Digest: no parameters", anon, "GET", doc, digestHdr("Digest"), ""},
		{"Digest: unterminated quote", anon, "GET", doc, digestHdr(`Digest username="alice@example.com, realm="x`), ""},
		{"Digest: duplicate and empty parameters", anon, "GET", doc, digestHdr(`Digest username=,username=,=,,,realm=""`), ""},
		{"Digest: nc not hex, 100 KB cnonce", anon, "GET", doc, digestHdr(`Digest username="alice@example.com", realm="example.com", nonce="x", uri="/", response="00", qop=auth, nc=zz` + strings.Repeat("9", 1000) + `, cnonce="` + strings.Repeat("c", 100000) + `"`), ""},
		{"Digest: 500 KB username", anon, "GET", doc, digestHdr(`Digest username="` + strings.Repeat("u", 500000) + `", realm="example.com", nonce="x", uri="/", response="00"`), ""},
		{"Digest: 10,000 parameters", anon, "GET", doc, digestHdr("Digest " + strings.Repeat("a=b, ", 10000)), ""},
		{"Basic: not base64", anon, "GET", doc, digestHdr("Basic !!!!"), ""},
		{"unknown scheme with 1 MB token", anon, "GET", doc, digestHdr("Bearer " + strings.Repeat("t", 1000000)), ""},
		{"2 MB of headers", anon, "GET", doc, map[string]string{"X-Pad": strings.Repeat("p", 2<<20)}, ""},
	}
	// A PUT of alice's own document whose body stops half way: it must not hold up other
	// requests for the same document (no lock held while a body is read).
	t.Run("PUT body stalled half way", func(t *testing.T) {
		c, err := net.Dial("tcp", s.addr["xcap.listen"].String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		body := `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>`
		path := "/xcap-root/pidf-manipulation/users/sip:alice@example.com/index"
		// Alice's credentials, so that the server goes on to read the body.
		res, err := http.Get("http://" + s.addr["xcap.listen"].String() + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		chal, err := digest.FindChallenge(res.Header)
		if err != nil {
			t.Fatalf("no challenge: %v", err)
		}
		cred, err := digest.Digest(chal, digest.Options{Method: "PUT", URI: path, Count: 1,
			Username: "alice@example.com", Password: "alice",
			GetBody: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"+
			"Content-Type: application/pidf+xml\r\nContent-Length: %d\r\n\r\n%s", path, cred, len(body)+1000, body)
		xcapAlive(t, s)
	})
	// What an HTTP client refuses to send goes out raw.
	raw := []struct{ name, req string }{
		{"Digest with control characters", "GET /xcap-root/pidf-manipulation/users/sip:alice@example.com/index HTTP/1.1\r\nHost: x\r\n" +
			"Authorization: Digest username=\"a\x01\x7f\", realm=\"\x00\", nc=\x1b\r\n\r\n"},
		{"path with raw invalid UTF-8 and NUL", "GET /xcap-root/pidf-manipulation/users/sip:\xff\x00@example.com/index HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"header line folded (obs-fold)", "GET /xcap-root/ HTTP/1.1\r\nHost: x\r\nAuthorization: Digest\r\n username=\"a\"\r\n\r\n"},
	}
	for _, tt := range raw {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", s.addr["xcap.listen"].String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, tt.req)
			line, err := bufio.NewReader(c).ReadString('\n')
			var code int
			fmt.Sscanf(line, "HTTP/1.1 %d", &code)
			t.Logf("answer %q %v", line, err)
			if code < 400 || code >= 500 {
				t.Errorf("answer %q (%v), want 4xx", line, err)
			}
			xcapAlive(t, s)
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			code, text, err := httpDo(t, tt.client, tt.method, tt.url, tt.hdr, body)
			t.Logf("answer %d %.120q %v", code, text, err)
			// A server may also close the connection on a request too big to read; a
			// 5xx, a hang or a crash is what must not happen.
			// Extension elements and attributes are allowed in PIDF (RFC 3863 §4.1): storing
			// such a document is a fine answer too.
			allowed := tt.method == "PUT" && code/100 == 2 && (strings.Contains(tt.name, "attributes") ||
				strings.Contains(tt.name, "namespace") || strings.Contains(tt.name, "nested"))
			if err == nil && (code < 400 || code >= 500) && !allowed {
				t.Errorf("answer %d %.300s, want 4xx", code, text)
			}
			if err != nil && isTimeout(err) {
				t.Errorf("no answer: %v", err)
			}
			xcapAlive(t, s)
		})
	}
}

// bsfAlive checks that the BSF and the authentication proxy still serve: alice bootstraps
// (TS 33.220 §4.5.2) and reads her document through the proxy with GBA Digest.
func bsfAlive(t *testing.T, s *stack) {
	t.Helper()
	ctx := t.Context()
	ue := bsftest.NewUE("alice@example.com", mustHex(t, "465b5ce8b199b49faa5f0a2ee238a6bc"), mustHex(t, "cd63cb71954a9f4e48a5994e37a02baf"))
	if err := ue.Bootstrap(ctx, "http://"+s.addr["bsf.listen"].String()+"/"); err != nil {
		t.Fatalf("bootstrap after the attack: %v", err)
	}
	_, port, _ := strings.Cut(s.addr["authproxy.listen"].String(), ":")
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://localhost:"+port+"/xcap-root/pidf-manipulation/users/sip:alice@example.com/index", nil)
	req.Header.Set("X-3GPP-Intended-Identity", `"sip:alice@example.com"`)
	res, err := ue.Do(ctx, req)
	if err != nil {
		t.Fatalf("proxy after the attack: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET through the proxy after the attack: %s", res.Status)
	}
}

// TestBSFHostileRequests (TS 24.109 §5.2.1, RFC 3310, RFC 7616 §3.4): malformed and
// oversized Digest credentials and bodies sent to the BSF's Ub and to the authentication
// proxy get a 4xx, and both keep serving.
func TestBSFHostileRequests(t *testing.T) {
	s := startStack(t, testConfig(t))
	_, port, _ := strings.Cut(s.addr["authproxy.listen"].String(), ":")
	targets := map[string]string{
		"Ub":    "http://" + s.addr["bsf.listen"].String() + "/",
		"proxy": "http://localhost:" + port + "/xcap-root/pidf-manipulation/users/sip:alice@example.com/index",
	}
	long := func(n int) string { return strings.Repeat("z", n) }
	auth := []struct{ name, value string }{
		{"no Authorization", ""},
		{"scheme only", "Digest"},
		{"unterminated quote", `Digest username="alice@example.com, realm="bsf.example.com`},
		{"empty names and values", `Digest =,=,username=,,nonce=""`},
		{"10,000 parameters", "Digest " + strings.Repeat(`a="b", `, 10000)},
		{"500 KB username", `Digest username="` + long(500000) + `", realm="bsf.example.com", nonce="", uri="/", response=""`},
		{"100 KB nonce of an unknown B-TID", `Digest username="` + long(1000) + `@bsf.example.com", realm="NAF", nonce="` + long(100000) + `", uri="/", response="00", qop=auth, nc=00000001, cnonce="c"`},
		{"nc of 10,000 digits", `Digest username="alice@example.com", realm="bsf.example.com", nonce="bm9uY2U=", uri="/", response="00", qop=auth-int, nc=` + strings.Repeat("f", 10000) + `, cnonce="c", algorithm=AKAv1-MD5`},
		{"200 KB cnonce", `Digest username="alice@example.com", realm="bsf.example.com", nonce="bm9uY2U=", uri="/", response="00", qop=auth, nc=00000001, cnonce="` + long(200000) + `", algorithm=AKAv1-MD5`},
		{"AUTS not base64, 50 KB", `Digest username="alice@example.com", realm="bsf.example.com", nonce="bm9uY2U=", uri="/", response="00", auts="` + long(50000) + `!"`},
		{"algorithm unknown", `Digest username="alice@example.com", realm="bsf.example.com", nonce="", uri="/", response="", algorithm=` + long(5000)},
		{"Basic garbage", "Basic " + long(10000)},
	}
	for target, url := range targets {
		for _, a := range auth {
			t.Run(target+" "+a.name, func(t *testing.T) {
				hdr := map[string]string{}
				if a.value != "" {
					hdr["Authorization"] = a.value
				}
				code, text, err := httpDo(t, &http.Client{}, "GET", url, hdr, nil)
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				if code < 400 || code >= 500 {
					t.Errorf("answer %d %.200s, want 4xx", code, text)
				}
			})
		}
		t.Run(target+" 20 MB body", func(t *testing.T) {
			code, text, err := httpDo(t, &http.Client{}, "POST", url, map[string]string{
				"Authorization": `Digest username="alice@example.com", realm="bsf.example.com", nonce="", uri="/", response=""`,
			}, io.LimitReader(zeros{}, 20<<20))
			// The server may answer before reading the body, then close: the client sees
			// either the 4xx or a reset.
			if err == nil && (code < 400 || code >= 500) {
				t.Errorf("answer %d %.200s, want 4xx", code, text)
			}
		})
	}
	bsfAlive(t, s)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// diameterCER is a capabilities exchange request advertising app.
func diameterCER(t *testing.T, app dict.App) []byte {
	d, err := dict.New(app)
	if err != nil {
		t.Fatal(err)
	}
	m := diam.NewRequest(dict.CapabilitiesExchange, 0, d)
	m.AddAVP(peer.Base(dict.AVPOriginHost, datatype.DiameterIdentity("raw.example.com")))
	m.AddAVP(peer.Base(dict.AVPOriginRealm, datatype.DiameterIdentity("example.com")))
	m.AddAVP(peer.Base(dict.AVPHostIPAddress, datatype.Address(net.IPv4(127, 0, 0, 1).To4())))
	m.AddAVP(peer.Base(dict.AVPVendorID, datatype.Unsigned32(0)))
	m.AddAVP(diam.NewAVP(dict.AVPProductName, 0, 0, datatype.UTF8String("raw")))
	m.AddAVP(peer.VSAI(app))
	b, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDiameterHostilePeers (RFC 6733 §3, §7.1): the message that panics the go-diameter
// v4.1.0 decoder (bsf's TestGoDiameterMalformedAVP) and other malformed frames, sent to the
// HSS simulator and to the Zn server before and after a capabilities exchange, cost at most
// that connection; presence (Sh) and GBA (Zh, Zn) keep working.
func TestDiameterHostilePeers(t *testing.T) {
	s := startStack(t, testConfig(t))
	recorded := []byte("0\x00\x0000\x00\x01/\x01\x00\x00\x05" + strings.Repeat("0", 240))
	v1 := bytes.Clone(recorded[:48])
	v1[0] = 1
	asRequest := bytes.Clone(v1)
	asRequest[4] = 0x80 // R bit: a MAR whose only AVP overruns the message
	frames := []struct {
		name string
		msg  []byte
	}{
		{"recorded go-diameter panic input", recorded},
		{"the same with version 1 (an answer nobody asked for)", v1},
		{"the same as a request", asRequest},
		{"length below the header", []byte{1, 0, 0, 8, 0x80, 0, 1, 0x2f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"length 16 MiB", []byte{1, 0xff, 0xff, 0xfc, 0x80, 0, 1, 0x2f, 1, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 1}},
		{"truncated header", []byte{1, 0, 0}},
	}
	ports := []struct {
		name string
		addr string
		app  dict.App
	}{
		{"HSS", s.addr["hss.listen"].String(), dict.Zh},
		{"Zn", s.addr["bsf.zn.address"].String(), dict.Zn},
	}
	for _, p := range ports {
		for _, f := range frames {
			for _, handshake := range []bool{false, true} {
				name := p.name + " " + f.name
				if handshake {
					name += " after CER"
				}
				t.Run(name, func(t *testing.T) {
					c, err := net.Dial("tcp", p.addr)
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(5 * time.Second))
					r := bufio.NewReader(c)
					if handshake {
						c.Write(diameterCER(t, p.app))
						if _, err := diam.ReadMessage(r, mustDict(t, p.app)); err != nil {
							t.Fatalf("CEA: %v", err)
						}
					}
					msg := f.msg
					if f.name == "the same as a request" && p.app == dict.Zn {
						// Addressed to Zn's BIR, so that it reaches the decoder there too.
						msg = bytes.Clone(msg)
						msg[5], msg[6], msg[7] = 0, byte(dict.BootstrappingInfo>>8), byte(dict.BootstrappingInfo&0xff)
						binary.BigEndian.PutUint32(msg[8:12], uint32(dict.Zn))
					}
					c.Write(msg)
					c.(*net.TCPConn).CloseWrite()
					// An error answer may come; then the connection ends.
					if _, err := io.Copy(io.Discard, r); err != nil && isTimeout(err) {
						t.Fatalf("connection neither answered nor closed: %v", err)
					}
				})
			}
		}
	}
	sipAlive(t, s)
	bsfAlive(t, s)
}

func mustDict(t *testing.T, app dict.App) *gdict.Parser {
	d, err := dict.New(app)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
