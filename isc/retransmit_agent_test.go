package isc_test

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsps/imsps/isc/isctest"
)

// rawPUA sends PUBLISH requests as raw datagrams, so that a retransmission is byte for
// byte the request it repeats.
type rawPUA struct {
	t    *testing.T
	conn net.PacketConn
	to   *net.UDPAddr
	aor  string
}

func newRawPUA(t *testing.T, server, aor string) *rawPUA {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	to, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	return &rawPUA{t: t, conn: conn, to: to, aor: aor}
}

func (p *rawPUA) publish(branch string, cseq int, body []byte, hdrs ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "PUBLISH %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\n", p.aor, p.conn.LocalAddr(), branch)
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <%s>;tag=pua\r\nTo: <%s>\r\nCall-ID: pua-call\r\nCSeq: %d PUBLISH\r\n", p.aor, p.aor, cseq)
	b.WriteString("Event: presence\r\n")
	for _, h := range hdrs {
		b.WriteString(h + "\r\n")
	}
	if len(body) > 0 {
		b.WriteString("Content-Type: application/pidf+xml\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return []byte(b.String())
}

// exchange sends req and returns the response datagram (the deadline only guards a hang).
func (p *rawPUA) exchange(req []byte) []byte {
	p.t.Helper()
	if _, err := p.conn.WriteTo(req, p.to); err != nil {
		p.t.Fatal(err)
	}
	buf := make([]byte, 65535)
	p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := p.conn.ReadFrom(buf)
	if err != nil {
		p.t.Fatalf("no response: %v", err)
	}
	return buf[:n]
}

func parseResponse(t *testing.T, wire []byte) *sip.Response {
	t.Helper()
	msg, err := sip.NewParser().ParseSIP(wire)
	if err != nil {
		t.Fatalf("response %q: %v", wire, err)
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		t.Fatalf("not a response: %q", wire)
	}
	return res
}

// TestRetransmittedPublishWithAgent drives the real presence core: each retransmitted
// PUBLISH (RFC 3261 §17.2.2) gets the first response again, and the core sees it once; in
// particular a retransmitted modify does not meet its own, now replaced, entity-tag
// (which would be 412, RFC 3903 §6 step 4).
func TestRetransmittedPublishWithAgent(t *testing.T) {
	udp, _ := isctest.Start(t)
	aor := "sip:retrans@example.com"
	pua := newRawPUA(t, udp, aor)
	step := func(name string, req []byte, wantCode int) *sip.Response {
		t.Helper()
		first := pua.exchange(req)
		res := parseResponse(t, first)
		if res.StatusCode != wantCode {
			t.Fatalf("%s: %d %s, want %d", name, res.StatusCode, res.Reason, wantCode)
		}
		if again := pua.exchange(req); !bytes.Equal(again, first) {
			t.Fatalf("%s retransmitted: answered\n%s\nwant the first response\n%s", name, again, first)
		}
		return res
	}
	initial := step("RFC 3903 §4.1 initial", pua.publish("z9hG4bK-r1", 1, pidf(aor, "t1=open"), "Expires: 3600"), 200)
	e1 := isctest.Header(initial, "SIP-ETag")
	modify := step("RFC 3903 §4.4 modify", pua.publish("z9hG4bK-r2", 2, pidf(aor, "t1=closed"), "Expires: 3600", "SIP-If-Match: "+e1), 200)
	e2 := isctest.Header(modify, "SIP-ETag")
	if e2 == "" || e2 == e1 {
		t.Fatalf("modify: SIP-ETag %q after %q", e2, e1)
	}
	// e2 is the one live entity-tag: the retransmissions created no publication of their own.
	step("RFC 3903 §4.5 remove", pua.publish("z9hG4bK-r3", 3, nil, "Expires: 0", "SIP-If-Match: "+e2), 200)

	ua := isctest.NewUA(t, "UDP")
	req := ua.Request(sip.SUBSCRIBE, aor, udp, nil, "From: <sip:bob@example.com>;tag=w1", "To: <"+aor+">",
		"Call-ID: retrans-fetch", "CSeq: 1 SUBSCRIBE", "Contact: <"+ua.Contact("bob")+">", "Event: presence", "Expires: 0")
	if res := ua.Do(req); res.StatusCode != 200 {
		t.Fatalf("fetch: %d", res.StatusCode)
	}
	if n := ua.NextNotify(); bytes.Contains(n.Body(), []byte("<tuple")) {
		t.Fatalf("state left after the one publication was removed:\n%s", n.Body())
	}
}
