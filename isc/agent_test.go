package isc_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsps/imsps/isc"
	"github.com/imsps/imsps/isc/isctest"
)

// TestStatusCodes drives every error path through the real presence agent.
func TestStatusCodes(t *testing.T) {
	const alice = "sip:alice@example.com"
	good := pidf(alice, "t1=open")
	tests := []struct {
		name       string
		method     sip.RequestMethod
		ruri       string
		body       []byte
		hdrs       []string
		wantCode   int
		wantHeader string // "Name: value"; value "" means present
	}{
		{"RFC 3903 §6 step 4: unknown SIP-If-Match -> 412", sip.PUBLISH, alice, nil,
			[]string{"From: <" + alice + ">;tag=1", "To: <" + alice + ">", "Event: presence", "SIP-If-Match: nope"}, 412, ""},
		{"RFC 3903 §6 step 6: missing Event -> 489 with Allow-Events", sip.PUBLISH, alice, good,
			[]string{"From: <" + alice + ">;tag=1", "To: <" + alice + ">", "Content-Type: application/pidf+xml"}, 489, "Allow-Events: presence"},
		{"RFC 3903 §6 step 6: unknown Event -> 489 with Allow-Events", sip.PUBLISH, alice, good,
			[]string{"From: <" + alice + ">;tag=1", "To: <" + alice + ">", "Event: dialog", "Content-Type: application/pidf+xml"}, 489, "Allow-Events: presence"},
		{"RFC 3903 §6 step 8: text/plain body -> 415 with Accept", sip.PUBLISH, alice, []byte("open"),
			[]string{"From: <" + alice + ">;tag=1", "To: <" + alice + ">", "Event: presence", "Content-Type: text/plain"}, 415, "Accept: application/pidf+xml"},
		{"RFC 3863 §4: malformed PIDF -> 400 with Warning", sip.PUBLISH, alice, []byte("<presence"),
			[]string{"From: <" + alice + ">;tag=1", "To: <" + alice + ">", "Event: presence", "Content-Type: application/pidf+xml"}, 400, "Warning: "},
		{"RFC 3863 §4.1.2: tuple without id -> 400 with Warning", sip.PUBLISH, alice,
			[]byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple><status><basic>open</basic></status></tuple></presence>`),
			[]string{"From: <" + alice + ">;tag=1", "To: <" + alice + ">", "Event: presence", "Content-Type: application/pidf+xml"}, 400, "Warning: "},
		{"RFC 3903 §6 step 7: Expires below minimum -> 423 with Min-Expires", sip.PUBLISH, alice, good,
			[]string{"From: <" + alice + ">;tag=1", "To: <" + alice + ">", "Event: presence", "Expires: 10", "Content-Type: application/pidf+xml"}, 423, "Min-Expires: 60"},
		{"RFC 3903 §6 step 5: domain not served -> 404", sip.PUBLISH, "sip:alice@other.example.org", good,
			[]string{"From: <sip:alice@other.example.org>;tag=1", "To: <sip:alice@other.example.org>", "Event: presence", "Content-Type: application/pidf+xml"}, 404, ""},
		{"RFC 3903 §6 step 4: publishing for someone else -> 403", sip.PUBLISH, alice, good,
			[]string{"From: <sip:bob@example.com>;tag=1", "To: <" + alice + ">", "Event: presence", "Content-Type: application/pidf+xml"}, 403, ""},
		{"RFC 6665 §4.2.1.1: Accept without PIDF -> 406", sip.SUBSCRIBE, alice, nil,
			[]string{"From: <sip:bob@example.com>;tag=1", "To: <" + alice + ">", "Event: presence", "Accept: text/plain", "Contact: <sip:bob@127.0.0.1:9>"}, 406, ""},
		{"RFC 6665 §4.2.1.1: SUBSCRIBE unknown Event -> 489", sip.SUBSCRIBE, alice, nil,
			[]string{"From: <sip:bob@example.com>;tag=1", "To: <" + alice + ">", "Event: foo", "Contact: <sip:bob@127.0.0.1:9>"}, 489, "Allow-Events: presence"},
		{"RFC 6665 §4.2.1.1: SUBSCRIBE Expires too brief -> 423", sip.SUBSCRIBE, alice, nil,
			[]string{"From: <sip:bob@example.com>;tag=1", "To: <" + alice + ">", "Event: presence", "Expires: 5", "Contact: <sip:bob@127.0.0.1:9>"}, 423, "Min-Expires: 60"},
		{"RFC 6665 §4.1.2.2: in-dialog SUBSCRIBE matching nothing -> 481", sip.SUBSCRIBE, alice, nil,
			[]string{"From: <sip:bob@example.com>;tag=1", "To: <" + alice + ">;tag=unknown", "Event: presence", "Contact: <sip:bob@127.0.0.1:9>"}, 481, ""},
		{"RFC 3261 §8.2.1: MESSAGE -> 405 with Allow", sip.MESSAGE, alice, nil,
			[]string{"From: <sip:bob@example.com>;tag=1", "To: <" + alice + ">"}, 405, "Allow: PUBLISH, SUBSCRIBE, OPTIONS"},
	}
	udp, tcp := isctest.Start(t)
	for _, tp := range transports {
		ua := isctest.NewUA(t, tp)
		for _, tc := range tests {
			t.Run(tp+"/"+tc.name, func(t *testing.T) {
				res := ua.Do(ua.Request(tc.method, tc.ruri, dst(tp, udp, tcp), tc.body, tc.hdrs...))
				if res.StatusCode != tc.wantCode {
					t.Fatalf("status %d %s (Warning %q), want %d", res.StatusCode, res.Reason, isctest.Header(res, "Warning"), tc.wantCode)
				}
				if tc.wantHeader == "" {
					return
				}
				name, want, _ := strings.Cut(tc.wantHeader, ": ")
				got := isctest.Header(res, name)
				if got == "" || (want != "" && got != want) {
					t.Fatalf("%s = %q, want %q", name, got, want)
				}
			})
		}
	}
}

// TestCompactHeaders: RFC 3261 §7.3.3 and RFC 6665 §8.2.1 compact forms end to end.
func TestCompactHeaders(t *testing.T) {
	const alice = "sip:alice@example.com"
	udp, _ := isctest.Start(t)
	ua := isctest.NewUA(t, "UDP")
	res := ua.Do(ua.Request(sip.PUBLISH, alice, udp, pidf(alice, "t1=open"),
		"f: <"+alice+">;tag=1", "t: <"+alice+">", "i: compact-pub@test", "o: presence", "c: application/pidf+xml", "Expires: 600"))
	if res.StatusCode != 200 || isctest.Header(res, "SIP-ETag") == "" {
		t.Fatalf("compact PUBLISH: %d", res.StatusCode)
	}
	res = ua.Do(ua.Request(sip.SUBSCRIBE, alice, udp, nil,
		"f: <sip:bob@example.com>;tag=9", "t: <"+alice+">", "i: compact-sub@test", "m: <"+ua.Contact("bob")+">", "o: presence;id=3", "Expires: 600"))
	if res.StatusCode != 200 {
		t.Fatalf("compact SUBSCRIBE: %d", res.StatusCode)
	}
	n := ua.NextNotify()
	if isctest.Header(n, "Event") != "presence;id=3" || !strings.Contains(string(n.Body()), "<basic>open</basic>") {
		t.Fatalf("NOTIFY Event %q body %s", isctest.Header(n, "Event"), n.Body())
	}
}

// TestNotifyThroughRecordRoute: the NOTIFY follows the route set from Record-Route
// (RFC 3261 §12.2.1.1); a 481 to it removes the subscription (RFC 6665 §4.2.2).
func TestNotifyThroughRecordRoute(t *testing.T) {
	const alice = "sip:alice@example.com"
	for _, tp := range transports {
		t.Run(tp, func(t *testing.T) {
			udp, tcp := isctest.Start(t)
			server := dst(tp, udp, tcp)
			watcher := isctest.NewUA(t, tp)
			proxy := isctest.NewUA(t, tp) // stands for the S-CSCF: records what is routed through it
			rr := "<sip:" + proxy.Addr + ";lr>"
			if tp == "TCP" {
				rr = "<sip:" + proxy.Addr + ";transport=tcp;lr>"
			}
			d := &dialog{ua: watcher, from: "sip:bob@example.com", to: alice, callID: "rr-" + tp, fromTag: "b1"}
			if res := d.subscribe(t, server, 600, "Record-Route: "+rr, "P-Charging-Vector: icid-value=icid42"); res.StatusCode != 200 {
				t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
			}
			n := proxy.NextNotify()
			if got := isctest.Header(n, "Route"); got != rr {
				t.Fatalf("Route %q, want %q", got, rr)
			}
			if n.Recipient.String() != watcher.Contact("w") {
				t.Fatalf("Request-URI %s, want %s", n.Recipient.String(), watcher.Contact("w"))
			}
			if isctest.Header(n, "P-Charging-Vector") != "icid-value=icid42" {
				t.Fatalf("P-Charging-Vector %q", isctest.Header(n, "P-Charging-Vector"))
			}
			// The proxy answers the next NOTIFY with 481: the subscription must go away.
			proxy.Answer(481, false)
			pua := isctest.NewUA(t, tp)
			if res := publish(t, pua, server, alice, pidf(alice, "t1=open"), "Expires: 600"); res.StatusCode != 200 {
				t.Fatalf("PUBLISH: %d", res.StatusCode)
			}
			proxy.NextNotify()
			d.toTag = isctest.Header(n, "From")[strings.Index(isctest.Header(n, "From"), "tag=")+4:]
			// A refresh in the removed dialog is answered 481. The agent removes the
			// subscription when Notify returns; poll with refreshes until it is gone.
			for i := 0; ; i++ {
				res := d.subscribe(t, server, 600, "Record-Route: "+rr)
				if res.StatusCode == 481 {
					t.Logf("481 after %d refreshes", i)
					break
				}
				if res.StatusCode != 200 || i == 50 {
					t.Fatalf("refresh after NOTIFY 481: %d (attempt %d)", res.StatusCode, i)
				}
				// A refresh accepted just before the removal gets its own NOTIFY (answered
				// 481 again) unless the removal comes first: wait for it a bounded time.
				proxy.NotifyWithin(time.Second)
			}
		})
	}
}

// TestRestart: subscriptions survive a restart; the NOTIFY after it comes in the original
// dialog with a higher CSeq (issue 2, Restart).
func TestRestart(t *testing.T) {
	const alice = "sip:alice@example.com"
	dir := t.TempDir()
	first := isctest.Run(t, isctest.WithDataDir(dir))
	watcher := isctest.NewUA(t, "UDP")
	d := &dialog{ua: watcher, from: "sip:bob@example.com", to: alice, callID: "restart@test", fromTag: "r1"}
	if res := d.subscribe(t, first.UDP, 3600); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	d.notify(t, "active")
	first.Stop()

	second := isctest.Run(t, isctest.WithDataDir(dir))
	pua := isctest.NewUA(t, "UDP")
	if res := publish(t, pua, second.UDP, alice, pidf(alice, "after-restart=open"), "Expires: 600"); res.StatusCode != 200 {
		t.Fatalf("PUBLISH after restart: %d", res.StatusCode)
	}
	for {
		n := d.notify(t, "active")
		if strings.Contains(string(n.Body()), "after-restart") {
			break
		}
	}
}

// TestLargeNotifyToUDPWatcher: a composed document above 1300 bytes reaches a UDP-only
// watcher (RFC 3261 §18.1.1: TCP refused, so one large datagram).
func TestLargeNotifyToUDPWatcher(t *testing.T) {
	const alice = "sip:alice@example.com"
	udp, tcp := isctest.Start(t)
	watcher := isctest.NewUA(t, "UDP")
	d := &dialog{ua: watcher, from: "sip:bob@example.com", to: alice, callID: "large@test", fromTag: "l1"}
	if res := d.subscribe(t, udp, 600); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	d.notify(t, "active")
	var tuples []string
	for i := range 30 {
		tuples = append(tuples, "device-"+strings.Repeat("x", 10)+string(rune('a'+i%26))+string(rune('a'+i/26))+"=open")
	}
	body := pidf(alice, tuples...)
	pua := isctest.NewUA(t, "TCP") // the PUBLISH itself is too large for sipgo's UDP
	if res := publish(t, pua, tcp, alice, body, "Expires: 600"); res.StatusCode != 200 {
		t.Fatalf("PUBLISH: %d %s", res.StatusCode, isctest.Header(res, "Warning"))
	}
	n := d.notify(t, "active")
	if len(n.Body()) <= 1300 || n.Via().Transport != "UDP" || !strings.Contains(string(n.Body()), "device-xxxxxxxxxxdb") {
		t.Fatalf("NOTIFY over %s with %d bytes", n.Via().Transport, len(n.Body()))
	}
}

// TestAssertedIdentityTrust: only the presentity may publish its state; P-Asserted-Identity
// names the publisher only when it comes from a trusted S-CSCF (RFC 3325 §9.1, TS 24.229 §4.4).
func TestAssertedIdentityTrust(t *testing.T) {
	const alice = "sip:alice@example.com"
	tests := []struct {
		name     string
		trusted  []string
		wantCode int
	}{
		{"RFC 3325 §9.1: PAI alice from trusted S-CSCF, From bob -> alice publishes -> 200", []string{"127.0.0.0/8"}, 200},
		{"RFC 3325 §9.1: PAI alice from untrusted source ignored, From bob -> 403", []string{"192.0.2.1"}, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := isctest.Run(t, isctest.WithSIP(func(c *isc.Config) { c.TrustedPeers = tc.trusted }))
			ua := isctest.NewUA(t, "UDP")
			res := ua.Do(ua.Request(sip.PUBLISH, alice, in.UDP, pidf(alice, "t1=open"),
				"From: <sip:bob@example.com>;tag=1", "To: <"+alice+">", "Event: presence", "Content-Type: application/pidf+xml",
				"P-Asserted-Identity: <"+alice+">"))
			if res.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.wantCode)
			}
		})
	}
}
