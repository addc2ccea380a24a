package isc_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/imsps/imsps/isc/isctest"
)

var transports = []string{"UDP", "TCP"}

func pidf(entity string, tuples ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="` + entity + `">` + "\n")
	for _, t := range tuples {
		id, basic, _ := strings.Cut(t, "=")
		b.WriteString(`  <tuple id="` + id + `"><status><basic>` + basic + `</basic></status><timestamp>2003-02-01T17:00:19Z</timestamp></tuple>` + "\n")
	}
	b.WriteString("</presence>\n")
	return []byte(b.String())
}

func dst(tp, udp, tcp string) string {
	if tp == "TCP" {
		return tcp
	}
	return udp
}

// dialog is a watcher's side of one subscription.
type dialog struct {
	ua              *isctest.UA
	from, to        string // URIs
	callID, fromTag string
	toTag           string
	cseq            int
	lastNotifyCSeq  uint32
}

func (d *dialog) subscribe(t *testing.T, server string, expires int, extra ...string) *sip.Response {
	t.Helper()
	d.cseq++
	to := "To: <" + d.to + ">"
	if d.toTag != "" {
		to += ";tag=" + d.toTag
	}
	hs := append([]string{
		"From: <" + d.from + ">;tag=" + d.fromTag, to, "Call-ID: " + d.callID,
		fmt.Sprintf("CSeq: %d SUBSCRIBE", d.cseq), "Contact: <" + d.ua.Contact("w") + ">",
		"Event: presence", "Expires: " + strconv.Itoa(expires), "Accept: application/pidf+xml",
	}, extra...)
	res := d.ua.Do(d.ua.Request(sip.SUBSCRIBE, d.to, server, nil, hs...))
	if res.StatusCode == 200 && d.toTag == "" {
		d.toTag, _ = res.To().Params.Get("tag")
	}
	return res
}

// notify takes the next NOTIFY and checks it belongs to the dialog with a higher CSeq
// (RFC 6665 §4.1.3, RFC 3261 §12.2.2).
func (d *dialog) notify(t *testing.T, wantState string) *sip.Request {
	t.Helper()
	n := d.ua.NextNotify()
	if n.CallID().Value() != d.callID {
		t.Fatalf("NOTIFY Call-ID %s, want %s", n.CallID().Value(), d.callID)
	}
	if tag, _ := n.To().Params.Get("tag"); tag != d.fromTag {
		t.Fatalf("NOTIFY To-tag %s, want %s", tag, d.fromTag)
	}
	if tag, _ := n.From().Params.Get("tag"); tag != d.toTag {
		t.Fatalf("NOTIFY From-tag %s, want %s", tag, d.toTag)
	}
	if seq := n.CSeq().SeqNo; seq <= d.lastNotifyCSeq {
		t.Fatalf("NOTIFY CSeq %d not above %d", seq, d.lastNotifyCSeq)
	}
	d.lastNotifyCSeq = n.CSeq().SeqNo
	if st := isctest.Header(n, "Subscription-State"); !strings.HasPrefix(st, wantState) {
		t.Fatalf("Subscription-State %q, want %s...", st, wantState)
	}
	if isctest.Header(n, "Event") != "presence" {
		t.Fatalf("Event %q", isctest.Header(n, "Event"))
	}
	if len(n.Body()) > 0 && isctest.Header(n, "Content-Type") != "application/pidf+xml" {
		t.Fatalf("Content-Type %q", isctest.Header(n, "Content-Type"))
	}
	return n
}

func publish(t testing.TB, ua *isctest.UA, server, aor string, body []byte, hdrs ...string) *sip.Response {
	t.Helper()
	hs := append([]string{"From: <" + aor + ">;tag=" + sip.GenerateTagN(8), "To: <" + aor + ">", "Event: presence"}, hdrs...)
	if body != nil {
		hs = append(hs, "Content-Type: application/pidf+xml")
	}
	return ua.Do(ua.Request(sip.PUBLISH, aor, server, body, hs...))
}

// TestSeedFlow runs the example flow M1..M14 of the PUBLISH draft (seed 001 §12) adapted
// to RFC 3903 (SIP-ETag, SIP-If-Match) and application/pidf+xml, with two watchers: another
// user (bob) and the presentity itself (alice's PUA), then RFC 3903 refresh, modify and
// remove, and the RFC 6665 unsubscribe.
func TestSeedFlow(t *testing.T) {
	const alice = "sip:alice@example.com"
	for _, tp := range transports {
		t.Run(tp, func(t *testing.T) {
			udp, tcp := isctest.Start(t)
			server := dst(tp, udp, tcp)
			watcher := &dialog{ua: isctest.NewUA(t, tp), from: "sip:bob@example.com", to: alice, callID: "12345678@10.0.0.1", fromTag: "12341234"}
			pua := isctest.NewUA(t, tp)
			self := &dialog{ua: pua, from: alice, to: alice, callID: "87654321@10.0.0.2", fromTag: "43214321"}

			// M1/M2: SUBSCRIBE, 200 with To-tag, Contact, Expires.
			res := watcher.subscribe(t, server, 3600)
			if res.StatusCode != 200 || watcher.toTag == "" || res.Contact() == nil || isctest.Header(res, "Expires") != "3600" {
				t.Fatalf("M2: %d tag %q Expires %q", res.StatusCode, watcher.toTag, isctest.Header(res, "Expires"))
			}
			// M3/M4: NOTIFY with the current (empty) state.
			n := watcher.notify(t, "active;expires=")
			if !strings.Contains(string(n.Body()), "urn:ietf:params:xml:ns:pidf") {
				t.Fatalf("M3 body: %s", n.Body())
			}
			// M5..M7: the PUA subscribes to its own presentity.
			if res := self.subscribe(t, server, 3600); res.StatusCode != 200 {
				t.Fatalf("M6: %d", res.StatusCode)
			}
			self.notify(t, "active;expires=")

			// M9/M10: PUBLISH the new state, 200 with SIP-ETag and Expires.
			res = publish(t, pua, server, alice, pidf(alice, "mobile-phone=closed", "desktop=open"), "Expires: 3600")
			etag := isctest.Header(res, "SIP-ETag")
			if res.StatusCode != 200 || etag == "" || isctest.Header(res, "Expires") != "3600" {
				t.Fatalf("M10: %d SIP-ETag %q Expires %q", res.StatusCode, etag, isctest.Header(res, "Expires"))
			}
			// M11..M14: both watchers are notified with the composed state.
			for _, d := range []*dialog{watcher, self} {
				n := d.notify(t, "active;expires=")
				body := string(n.Body())
				if !strings.Contains(body, "mobile-phone") || !strings.Contains(body, "<basic>closed</basic>") || !strings.Contains(body, "desktop") {
					t.Fatalf("M11/M13 body: %s", body)
				}
			}

			// RFC 3903 §4.3: refresh without body -> new entity-tag, no NOTIFY needed.
			res = publish(t, pua, server, alice, nil, "SIP-If-Match: "+etag, "Expires: 1800")
			refreshed := isctest.Header(res, "SIP-ETag")
			if res.StatusCode != 200 || refreshed == "" || refreshed == etag || isctest.Header(res, "Expires") != "1800" {
				t.Fatalf("refresh: %d SIP-ETag %q Expires %q", res.StatusCode, refreshed, isctest.Header(res, "Expires"))
			}
			// RFC 3903 §6 step 4: the old entity-tag is gone -> 412.
			if res := publish(t, pua, server, alice, nil, "SIP-If-Match: "+etag); res.StatusCode != 412 {
				t.Fatalf("stale entity-tag: %d", res.StatusCode)
			}
			// RFC 3903 §4.4: modify replaces the publication's state.
			res = publish(t, pua, server, alice, pidf(alice, "mobile-phone=open"), "SIP-If-Match: "+refreshed)
			modified := isctest.Header(res, "SIP-ETag")
			if res.StatusCode != 200 || modified == "" {
				t.Fatalf("modify: %d", res.StatusCode)
			}
			for _, d := range []*dialog{watcher, self} {
				body := string(d.notify(t, "active").Body())
				if !strings.Contains(body, "<basic>open</basic>") || strings.Contains(body, "desktop") {
					t.Fatalf("after modify: %s", body)
				}
			}
			// RFC 3903 §4.5: remove (Expires: 0) -> state gone, watchers told.
			res = publish(t, pua, server, alice, nil, "SIP-If-Match: "+modified, "Expires: 0")
			if res.StatusCode != 200 || isctest.Header(res, "Expires") != "0" {
				t.Fatalf("remove: %d Expires %q", res.StatusCode, isctest.Header(res, "Expires"))
			}
			for _, d := range []*dialog{watcher, self} {
				if body := string(d.notify(t, "active").Body()); strings.Contains(body, "mobile-phone") {
					t.Fatalf("after remove: %s", body)
				}
			}
			// RFC 6665 §4.1.2.3: unsubscribe -> 200 Expires 0, final NOTIFY terminated.
			res = watcher.subscribe(t, server, 0)
			if res.StatusCode != 200 || isctest.Header(res, "Expires") != "0" {
				t.Fatalf("unsubscribe: %d Expires %q", res.StatusCode, isctest.Header(res, "Expires"))
			}
			watcher.notify(t, "terminated")
			// RFC 6665 §4.1.2.2: the dialog is gone -> refresh gets 481.
			if res := watcher.subscribe(t, server, 600); res.StatusCode != 481 {
				t.Fatalf("refresh after unsubscribe: %d", res.StatusCode)
			}
		})
	}
}
