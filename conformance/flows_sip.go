package conformance

// pidf builds a PIDF document for ${aor:presentity} from tuple elements.
func pidf(tuples string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${aor:presentity}">` + tuples + `</presence>`
}

func tuple(id, basic string) string {
	return `<tuple id="` + id + `"><status><basic>` + basic + `</basic></status></tuple>`
}

var (
	eventPresence = Header{"Event", "presence"}
	acceptPIDF    = Header{"Accept", "application/pidf+xml"}
)

func expires(v string) Header { return Header{"Expires", v} }

// publish is an initial PUBLISH by the presentity of one tuple.
func publish(actor, id, basic string, save string) *SIPRequest {
	return &SIPRequest{
		Actor: actor, Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
		Headers:     []Header{eventPresence, expires("3600")},
		ContentType: "application/pidf+xml", Body: pidf(tuple(id, basic)),
		Expect: Expect{Status: 200, Headers: map[string]string{"SIP-ETag": ".+", "Expires": `^\d+$`},
			Save: map[string]string{save: "SIP-ETag"}},
	}
}

func subscribe(actor, from, dialog, exp string) *SIPRequest {
	return &SIPRequest{
		Actor: actor, Method: "SUBSCRIBE", To: "${aor:presentity}", From: from, Dialog: dialog,
		Headers: []Header{eventPresence, acceptPIDF, expires(exp)},
		Expect:  Expect{Status: 200, Headers: map[string]string{"Expires": `^\d+$`}},
	}
}

// SIPFlows are the presence flows over SIP.
func SIPFlows() []Flow {
	both := []string{`<tuple id="mobile-phone"`, `<tuple id="desktop"`}
	return []Flow{
		{
			Name: "publish-m1-m14",
			Spec: "draft-olson-simple-publish-02 §12 (M1..M14), in RFC 3903 form: SIP-ETag/SIP-If-Match, application/pidf+xml",
			Steps: []Step{
				{Label: "P1", SIP: publish("desktop-pua", "desktop", "open", "desktop")},
				{Label: "P2", SIP: publish("pua", "mobile-phone", "open", "mobile")},
				{Label: "M1/M2", SIP: subscribe("watcher", "${aor:watcher}", "w", "3600")},
				{Label: "M3/M4", Notify: &NotifyExpect{Actor: "watcher", Dialog: "w", State: `^active;\s*expires=\d+`, BodyHas: both}},
				{Label: "M5/M6", SIP: subscribe("pua", "${aor:presentity}", "p", "3600")},
				{Label: "M7/M8", Notify: &NotifyExpect{Actor: "pua", Dialog: "p", State: `^active`, BodyHas: both}},
				{Label: "M9/M10", SIP: &SIPRequest{
					Actor: "pua", Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
					Headers:     []Header{eventPresence, expires("1800"), {"SIP-If-Match", "${var:mobile}"}},
					ContentType: "application/pidf+xml", Body: pidf(tuple("mobile-phone", "closed")),
					Expect: Expect{Status: 200, Headers: map[string]string{"SIP-ETag": ".+", "Expires": `^\d+$`}},
				}},
				{Label: "M11/M12", Notify: &NotifyExpect{Actor: "watcher", Dialog: "w", State: `^active`,
					BodyHas: append(both, `<basic>closed</basic>`, `<basic>open</basic>`)}},
				{Label: "M13/M14", Notify: &NotifyExpect{Actor: "pua", Dialog: "p", State: `^active`,
					BodyHas: append(both, `<basic>closed</basic>`)}},
			},
		},
		{
			Name: "publish-refresh-modify-remove",
			Spec: "RFC 3903 §4.1-§4.6: initial, refresh, modify and remove; 412 for a stale entity-tag",
			Steps: []Step{
				{Label: "initial", SIP: publish("pua", "t1", "open", "e1")},
				{Label: "refresh", SIP: &SIPRequest{Actor: "pua", Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
					Headers: []Header{eventPresence, expires("120"), {"SIP-If-Match", "${var:e1}"}},
					Expect:  Expect{Status: 200, Headers: map[string]string{"SIP-ETag": ".+", "Expires": `^\d+$`}, Save: map[string]string{"e2": "SIP-ETag"}}}},
				{Label: "stale etag", SIP: &SIPRequest{Actor: "pua", Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
					Headers: []Header{eventPresence, {"SIP-If-Match", "${var:e1}"}},
					Expect:  Expect{Status: 412}}},
				{Label: "modify", SIP: &SIPRequest{Actor: "pua", Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
					Headers:     []Header{eventPresence, {"SIP-If-Match", "${var:e2}"}},
					ContentType: "application/pidf+xml", Body: pidf(tuple("t1", "closed")),
					Expect: Expect{Status: 200, Save: map[string]string{"e3": "SIP-ETag"}}}},
				{Label: "fetch", SIP: subscribe("watcher", "${aor:watcher}", "f", "0")},
				{Label: "fetch NOTIFY", Notify: &NotifyExpect{Actor: "watcher", Dialog: "f", State: `^terminated`, BodyHas: []string{`<basic>closed</basic>`}}},
				{Label: "remove", SIP: &SIPRequest{Actor: "pua", Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
					Headers: []Header{eventPresence, expires("0"), {"SIP-If-Match", "${var:e3}"}},
					Expect:  Expect{Status: 200}}},
				{Label: "removed etag", SIP: &SIPRequest{Actor: "pua", Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
					Headers: []Header{eventPresence, {"SIP-If-Match", "${var:e3}"}},
					Expect:  Expect{Status: 412}}},
				{Label: "fetch after remove", SIP: subscribe("watcher", "${aor:watcher}", "g", "0")},
				{Label: "no tuple left", Notify: &NotifyExpect{Actor: "watcher", Dialog: "g", State: `^terminated`, BodyLacks: []string{`id="t1"`}}},
			},
		},
		{
			Name: "publish-errors",
			Spec: "RFC 3903 §6 (489, 412, 423, 415, 400) and draft-olson-simple-publish-02 §6 step 5 (404)",
			Steps: []Step{
				{Label: "no Event", SIP: &SIPRequest{Actor: "pua", Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
					ContentType: "application/pidf+xml", Body: pidf(tuple("a", "open")),
					Expect: Expect{Status: 489, Headers: map[string]string{"Allow-Events": "presence"}}}},
				{Label: "unknown Event", SIP: &SIPRequest{Actor: "pua", Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
					Headers: []Header{{"Event", "no-such-package"}}, ContentType: "application/pidf+xml", Body: pidf(tuple("a", "open")),
					Expect: Expect{Status: 489, Headers: map[string]string{"Allow-Events": "presence"}}}},
				{Label: "unknown etag", SIP: &SIPRequest{Actor: "pua", Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
					Headers: []Header{eventPresence, {"SIP-If-Match", "no-such-etag"}},
					Expect:  Expect{Status: 412}}},
				{Label: "too brief", SIP: &SIPRequest{Actor: "pua", Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
					Headers: []Header{eventPresence, expires("1")}, ContentType: "application/pidf+xml", Body: pidf(tuple("a", "open")),
					Expect: Expect{Status: 423, Headers: map[string]string{"Min-Expires": `^\d+$`}}}},
				{Label: "wrong media type", SIP: &SIPRequest{Actor: "pua", Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
					Headers: []Header{eventPresence}, ContentType: "text/plain", Body: "open",
					Expect: Expect{Status: 415, Headers: map[string]string{"Accept": "application/pidf\\+xml"}}}},
				{Label: "malformed PIDF", SIP: &SIPRequest{Actor: "pua", Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
					Headers: []Header{eventPresence}, ContentType: "application/pidf+xml", Body: `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple>`,
					Expect: Expect{Status: 400}}},
				{Label: "tuple without id", SIP: &SIPRequest{Actor: "pua", Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
					Headers: []Header{eventPresence}, ContentType: "application/pidf+xml",
					Body:   pidf(`<tuple><status><basic>open</basic></status></tuple>`),
					Expect: Expect{Status: 400}}},
				{Label: "domain not served", SIP: &SIPRequest{Actor: "pua", Method: "PUBLISH", To: "sip:someone@not-served.invalid", From: "sip:someone@not-served.invalid",
					Headers: []Header{eventPresence}, ContentType: "application/pidf+xml", Body: pidf(tuple("a", "open")),
					Expect: Expect{Status: 404}}},
			},
		},
		{
			Name: "subscribe-lifecycle",
			Spec: "RFC 6665 §4.1.2 and §4.2.1: create, refresh, unsubscribe; RFC 3856 §6",
			Steps: []Step{
				{Label: "SUBSCRIBE", SIP: subscribe("watcher", "${aor:watcher}", "w", "600")},
				{Label: "first NOTIFY", Notify: &NotifyExpect{Actor: "watcher", Dialog: "w", State: `^active;\s*expires=\d+`, BodyHas: []string{`entity="${aor:presentity}"`}}},
				{Label: "PUBLISH", SIP: publish("pua", "t1", "open", "e1")},
				{Label: "NOTIFY on change", Notify: &NotifyExpect{Actor: "watcher", Dialog: "w", State: `^active`, BodyHas: []string{`<tuple id="t1"`}}},
				{Label: "refresh", SIP: subscribe("watcher", "${aor:watcher}", "w", "300")},
				{Label: "NOTIFY on refresh", Notify: &NotifyExpect{Actor: "watcher", Dialog: "w", State: `^active`}},
				{Label: "unsubscribe", SIP: &SIPRequest{Actor: "watcher", Method: "SUBSCRIBE", To: "${aor:presentity}", From: "${aor:watcher}", Dialog: "w",
					Headers: []Header{eventPresence, expires("0")}, Expect: Expect{Status: 200}}},
				{Label: "final NOTIFY", Notify: &NotifyExpect{Actor: "watcher", Dialog: "w", State: `^terminated`}},
				{Label: "in-dialog after end", SIP: &SIPRequest{Actor: "watcher", Method: "SUBSCRIBE", To: "${aor:presentity}", From: "${aor:watcher}", Dialog: "w",
					Headers: []Header{eventPresence, expires("600")}, Expect: Expect{Status: 481}}},
			},
		},
		{
			Name: "subscribe-errors",
			Spec: "RFC 6665 §4.2.1.1 (489, 423), §4.1.3 (481); RFC 3261 §21.4.7 (406)",
			Steps: []Step{
				{Label: "unknown Event", SIP: &SIPRequest{Actor: "watcher", Method: "SUBSCRIBE", To: "${aor:presentity}", From: "${aor:watcher}", Dialog: "x",
					Headers: []Header{{"Event", "no-such-package"}}, Expect: Expect{Status: 489, Headers: map[string]string{"Allow-Events": "presence"}}}},
				{Label: "not acceptable", SIP: &SIPRequest{Actor: "watcher", Method: "SUBSCRIBE", To: "${aor:presentity}", From: "${aor:watcher}", Dialog: "y",
					Headers: []Header{eventPresence, {"Accept", "text/plain"}}, Expect: Expect{Status: 406}}},
				{Label: "too brief", SIP: &SIPRequest{Actor: "watcher", Method: "SUBSCRIBE", To: "${aor:presentity}", From: "${aor:watcher}", Dialog: "z",
					Headers: []Header{eventPresence, expires("1")}, Expect: Expect{Status: 423, Headers: map[string]string{"Min-Expires": `^\d+$`}}}},
				{Label: "unknown dialog", SIP: &SIPRequest{Actor: "watcher", Method: "SUBSCRIBE", To: "${aor:presentity}", From: "${aor:watcher}", ToTag: "no-such-dialog",
					Headers: []Header{eventPresence, expires("600")}, Expect: Expect{Status: 481}}},
			},
		},
	}
}
