package isc

import (
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func parseMessage(t testing.TB, raw string) sip.Message {
	t.Helper()
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	m, err := sip.NewParser().ParseSIP([]byte(raw))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return m
}

const compactSubscribe = `SUBSCRIBE sip:alice@example.com SIP/2.0
v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1
f: <sip:bob@example.com>;tag=a
t: <sip:alice@example.com>
i: c1@host
CSeq: 1 SUBSCRIBE
m: <sip:bob@127.0.0.1:5070>
o: presence;id=7
u: presence, presence.winfo
Expires: 600
Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>
Record-Route: <sip:p3.example.com;lr>
l: 0

`

func TestHeaderLookupCompactForms(t *testing.T) {
	m := parseMessage(t, compactSubscribe)
	tests := []struct {
		name, header, want string
	}{
		{"RFC 6665 §8.2.1: o is Event", hdrEvent, "presence;id=7"},
		{"RFC 6665 §8.2.2: u is Allow-Events", hdrAllowEvents, "presence, presence.winfo"},
		{"RFC 3261 §20.19: Expires has no compact form", hdrExpires, "600"},
		{"RFC 3261 §7.3.3: i is Call-ID (sipgo-typed)", "Call-ID", "c1@host"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := headerValue(m, tc.header)
			if !ok || got != tc.want {
				t.Fatalf("headerValue(%s) = %q, %v; want %q", tc.header, got, ok, tc.want)
			}
		})
	}
	f := readFields(m.(*sip.Request))
	if f.event != "presence;id=7" || !f.hasEvent || f.expires != "600" || f.hasIfMatch || f.accept != nil {
		t.Fatalf("readFields = %+v", f)
	}
	want := []string{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>", "<sip:p3.example.com;lr>"}
	if got := recordRoutes(m); !slices.Equal(got, want) {
		t.Fatalf("recordRoutes = %q, want %q", got, want)
	}
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name, in string
		want     eventHeader
		wantErr  bool
	}{
		{"RFC 6665 §8.2.1: bare package", "presence", eventHeader{Package: "presence"}, false},
		{"RFC 6665 §8.2.1: id parameter", "presence ; id=abc", eventHeader{Package: "presence", ID: "abc"}, false},
		{"RFC 6665 §8.2.1: template package", "presence.winfo", eventHeader{Package: "presence.winfo"}, false},
		{"RFC 6665 §8.2.1: other params ignored", "presence;foo=bar;id=1", eventHeader{Package: "presence", ID: "1"}, false},
		{"RFC 3261 §25.1: empty is not a token", "", eventHeader{}, true},
		{"RFC 3261 §25.1: space inside token", "pres ence", eventHeader{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseEvent(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("parseEvent(%q) = %+v, %v", tc.in, got, err)
			}
		})
	}
}

func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{"presence", "presence;id=1", "presence.winfo ; id = x", ";", "a;id=\"q\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseEvent(s)
		if err != nil {
			return
		}
		again, err := parseEvent(e.String())
		if err != nil || again != e {
			t.Fatalf("round trip %q -> %q -> %+v, %v", s, e.String(), again, err)
		}
	})
}

func TestParseExpires(t *testing.T) {
	tests := []struct {
		name, in string
		want     int
		wantErr  bool
	}{
		{"RFC 3261 §20.19: delta-seconds", "3600", 3600, false},
		{"RFC 3261 §20.19: zero", " 0 ", 0, false},
		{"RFC 3261 §20.19: above 2^32-1 is 2^32-1", "99999999999999999999", 4294967295, false},
		{"RFC 3261 §20.19: negative is malformed", "-1", 0, true},
		{"RFC 3261 §20.19: date form not taken", "Thu, 01 Dec 1994 16:00:00 GMT", 0, true},
		{"RFC 3261 §20.19: empty", "", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseExpires(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("parseExpires(%q) = %d, %v", tc.in, got, err)
			}
		})
	}
}

func FuzzParseExpires(f *testing.F) {
	for _, s := range []string{"0", "3600", "4294967296", "-5", "1e3", " 7 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseExpires(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("negative %d from %q", n, s)
		}
	})
}

func FuzzParseIfMatch(f *testing.F) {
	for _, s := range []string{"dx200xyz", " abc ", "a b", "", "x\r\ny"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag, err := parseIfMatch(s)
		if err != nil {
			return
		}
		if !isToken(tag) || !safeValue(tag) {
			t.Fatalf("parseIfMatch(%q) = %q", s, tag)
		}
		if again, err := parseIfMatch(tag); err != nil || again != tag {
			t.Fatalf("round trip %q", tag)
		}
	})
}

func TestParseAccept(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"RFC 3261 §20.1: absent", nil, nil},
		{"RFC 3261 §20.1: empty means none", []string{""}, []string{}},
		{"RFC 3856 §6.7: list with params, lower-cased", []string{"application/PIDF+xml;q=1, application/xpidf+xml"}, []string{"application/pidf+xml", "application/xpidf+xml"}},
		{"RFC 3261 §7.3.1: two header fields", []string{"text/plain", "*/*"}, []string{"text/plain", "*/*"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAccept(tc.in)
			if err != nil || !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("parseAccept(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzParseAccept(f *testing.F) {
	for _, s := range []string{"application/pidf+xml", "a/b;q=0.5, c/d", "*/*", ",,", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseAccept([]string{s})
		if err != nil {
			return
		}
		again, err := parseAccept([]string{strings.Join(got, ", ")})
		if err != nil || !slices.Equal(got, again) {
			t.Fatalf("round trip %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}

func TestParseMediaType(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"RFC 3261 §20.15: params dropped", "application/pidf+xml; charset=UTF-8", "application/pidf+xml", false},
		{"RFC 3261 §20.15: case folded", "Application/PIDF+XML", "application/pidf+xml", false},
		{"RFC 3261 §20.15: no subtype", "application", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMediaType(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("parseMediaType(%q) = %q, %v", tc.in, got, err)
			}
		})
	}
}

func FuzzParseMediaType(f *testing.F) {
	for _, s := range []string{"application/pidf+xml", "text/plain;a=b", "/", "a/b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mt, err := parseMediaType(s)
		if err != nil {
			return
		}
		if again, err := parseMediaType(mt); err != nil || again != mt {
			t.Fatalf("round trip %q -> %q -> %q, %v", s, mt, again, err)
		}
	})
}

func TestParseAssertedIdentity(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want string
		ok   bool
	}{
		{"RFC 3325 §9.1: name-addr", []string{`"Alice" <sip:alice@example.com>`}, "sip:alice@example.com", true},
		{"RFC 3325 §9.1: SIP then tel, first wins", []string{`<sip:alice@example.com>, <tel:+15550100>`}, "sip:alice@example.com", true},
		{"RFC 3325 §9.1: tel first", []string{`<tel:+15550100>`, `<sip:alice@example.com>`}, "tel:+15550100", true},
		{"RFC 3325 §9.1: addr-spec", []string{`sip:bob@example.com`}, "sip:bob@example.com", true},
		{"RFC 3325 §9.1: display name with comma and angle", []string{`"A, <b>" <sip:c@example.com>`}, "sip:c@example.com", true},
		{"RFC 3325 §9.1: non-SIP schemes skipped", []string{`<mailto:a@b>`}, "", false},
		{"RFC 3325 §9.1: garbage", []string{`<<<`}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseAssertedIdentity(tc.in)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("parseAssertedIdentity(%q) = %q, %v", tc.in, got, ok)
			}
		})
	}
}

func FuzzParseAssertedIdentity(f *testing.F) {
	for _, s := range []string{`"Alice" <sip:alice@example.com>`, `<tel:+1>, <sip:a@b>`, `sip:x@y;user=phone`, `"\"" <sip:q@r>`, `"unterminated <sip:a@b>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		uri, ok := parseAssertedIdentity([]string{s})
		if !ok {
			return
		}
		if !safeValue(uri) || strings.ContainsAny(uri, "<>") {
			t.Fatalf("parseAssertedIdentity(%q) = %q", s, uri)
		}
		if again, ok := parseAssertedIdentity([]string{"<" + uri + ">"}); !ok || again != uri {
			t.Fatalf("round trip %q -> %q -> %q", s, uri, again)
		}
	})
}

func TestParseChargingVector(t *testing.T) {
	tests := []struct {
		name, in string
		wantErr  bool
	}{
		{"RFC 7315 §5.6: icid-value with more", "icid-value=1234bc9876e;icid-generated-at=192.0.6.8;orig-ioi=home1.net", false},
		{"RFC 7315 §5.6: icid-value missing", "orig-ioi=home1.net", true},
		{"RFC 7315 §5.6: empty icid-value", "icid-value=", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseChargingVector(tc.in)
			if (err != nil) != tc.wantErr || (err == nil && got != tc.in) {
				t.Fatalf("parseChargingVector(%q) = %q, %v", tc.in, got, err)
			}
		})
	}
}

func FuzzParseChargingVector(f *testing.F) {
	for _, s := range []string{"icid-value=1", "icid-value=\"a;b\";orig-ioi=x", "x=y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseChargingVector(s)
		if err != nil {
			return
		}
		if !safeValue(v) {
			t.Fatalf("unsafe %q", v)
		}
		if again, err := parseChargingVector(v); err != nil || again != v {
			t.Fatalf("round trip %q -> %q, %v", s, again, err)
		}
	})
}

func FuzzRecordRoute(f *testing.F) {
	f.Add("<sip:p1.example.com;lr>, <sip:p2.example.com;lr>")
	f.Add("<sip:[::1]:5060;lr;transport=tcp>")
	f.Add("sip:strict.example.com")
	f.Fuzz(func(t *testing.T, rr string) {
		if !safeValue(rr) {
			return
		}
		raw := "SUBSCRIBE sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: c\r\nCSeq: 1 SUBSCRIBE\r\nRecord-Route: " + rr + "\r\nContent-Length: 0\r\n\r\n"
		m, err := sip.NewParser().ParseSIP([]byte(raw))
		if err != nil {
			return
		}
		for _, r := range recordRoutes(m) {
			u, err := parseRoute(r)
			if err != nil {
				continue
			}
			again, err := parseRoute("<" + u.String() + ">")
			if err != nil || again.Host != u.Host || again.Port != u.Port {
				t.Fatalf("round trip %q -> %q -> %v", r, u.String(), err)
			}
		}
	})
}
