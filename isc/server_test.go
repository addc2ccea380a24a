package isc

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsps/imsps/as"
)

const pidfBody = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">
 <tuple id="t1"><status><basic>open</basic></status></tuple>
</presence>`

var transports = []string{"UDP", "TCP"}

func serverAddr(tp, udp, tcp string) string {
	if tp == "TCP" {
		return tcp
	}
	return udp
}

func TestErrorStatus(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantCode   int
		wantHeader string // "Name: value"
	}{
		{"RFC 3903 §6 step 5: domain not served -> 404", as.ErrNotServed, 404, ""},
		{"TS 29.328: unknown user -> 404", fmt.Errorf("x: %w", as.ErrUnknownUser), 404, ""},
		{"RFC 3903 §6 step 6: bad event -> 489 with Allow-Events", as.ErrBadEvent, 489, "Allow-Events: presence, presence.winfo"},
		{"RFC 3903 §6 step 4: unknown entity-tag -> 412", fmt.Errorf("refresh: %w", as.ErrNoSuchETag), 412, ""},
		{"RFC 3903 §6 step 8: unsupported body -> 415 with Accept", as.ErrUnsupportedMediaType, 415, "Accept: application/pidf+xml"},
		{"RFC 6665 §4.2.1.1: no acceptable type -> 406 with Accept", as.ErrNotAcceptable, 406, "Accept: application/pidf+xml"},
		{"RFC 6665 §4.2.1.2: no such subscription -> 481", as.ErrNoSuchSubscription, 481, ""},
		{"RFC 3261 §21.4.11: body above the limit -> 413", fmt.Errorf("publish: %w", as.ErrTooLarge), 413, ""},
		{"RFC 3903 §6 step 4: not authorised -> 403", as.ErrForbidden, 403, ""},
		{"RFC 3261 §21.4.17: too brief -> 423 with Min-Expires", &as.IntervalTooBriefError{Min: time.Minute}, 423, "Min-Expires: 60"},
		{"RFC 3261 §20.43: bad request -> 400 with Warning", &as.BadRequestError{Reason: `tuple without "id"`}, 400, `Warning: 399 ps.example.com "tuple without 'id'"`},
		{"RFC 3261 §21.5.4: directory down -> 503 with Retry-After", &as.DirectoryUnavailableError{RetryAfter: 3 * time.Second, Err: errors.New("sh timeout")}, 503, "Retry-After: 3"},
		{"RFC 3261 §21.5.4: overload -> 503 with Retry-After", as.ErrOverloaded, 503, "Retry-After: 5"},
		{"RFC 3261 §21.5.1: anything else -> 500", errors.New("disk on fire"), 500, ""},
	}
	f, _, udp, tcp := startFake(t, func(c *Config) { c.Host = "ps.example.com" })
	for _, tp := range transports {
		p := newPeer(t, tp)
		for _, tc := range tests {
			t.Run(tp+"/"+tc.name, func(t *testing.T) {
				f.mu.Lock()
				f.err = tc.err
				f.mu.Unlock()
				from, to := fromTo("sip:alice@example.com", "sip:alice@example.com")
				res := p.do(p.request(sip.PUBLISH, "sip:alice@example.com", serverAddr(tp, udp, tcp), []byte(pidfBody),
					from, to, "Event: presence", "Expires: 3600", "Content-Type: application/pidf+xml"))
				if res.StatusCode != tc.wantCode {
					t.Fatalf("status %d %s, want %d", res.StatusCode, res.Reason, tc.wantCode)
				}
				if tc.wantHeader != "" {
					name, want, _ := strings.Cut(tc.wantHeader, ": ")
					if got := hdr(res, name); got != want {
						t.Fatalf("%s = %q, want %q", name, got, want)
					}
				}
			})
		}
	}
}

func TestPublishFromWire(t *testing.T) {
	f, _, udp, tcp := startFake(t, nil)
	for _, tp := range transports {
		t.Run(tp, func(t *testing.T) {
			p := newPeer(t, tp)
			// RFC 3903 §11.1, RFC 6665 §8.2.1 compact "o" for Event, "c" for Content-Type.
			res := p.do(p.request(sip.PUBLISH, "sip:alice@example.com;user=phone", serverAddr(tp, udp, tcp), []byte(pidfBody),
				"f: <sip:alice@example.com>;tag=1", "t: <sip:alice@example.com>", "o: presence",
				"Expires: 1800", "SIP-If-Match: abc123", "c: application/PIDF+xml;charset=utf-8",
				`P-Asserted-Identity: "Alice" <sip:alice@example.com>, <tel:+15550100>`))
			if res.StatusCode != 200 || hdr(res, "SIP-ETag") != "etag1" || hdr(res, "Expires") != "3600" {
				t.Fatalf("response %d SIP-ETag %q Expires %q", res.StatusCode, hdr(res, "SIP-ETag"), hdr(res, "Expires"))
			}
			pr, _ := f.last()
			f.mu.Lock()
			ctxErr := f.ctxErr
			f.mu.Unlock()
			if ctxErr != nil {
				t.Fatalf("request context already ended in the handler: %v", ctxErr)
			}
			want := as.PublishRequest{
				Presentity: "sip:alice@example.com;user=phone", Publisher: "sip:alice@example.com",
				Event: "presence", IfMatch: "abc123", Expires: 1800, ContentType: "application/pidf+xml", Body: []byte(pidfBody),
			}
			if pr.Presentity != want.Presentity || pr.Publisher != want.Publisher || pr.Event != want.Event ||
				pr.IfMatch != want.IfMatch || pr.Expires != want.Expires || pr.ContentType != want.ContentType || string(pr.Body) != pidfBody {
				t.Fatalf("got %+v\nwant %+v", pr, want)
			}
			// RFC 3903 §4.3: a refresh has no body and no Expires -> -1, no media type.
			p.do(p.request(sip.PUBLISH, "sip:alice@example.com", serverAddr(tp, udp, tcp), nil,
				"From: <sip:alice@example.com>;tag=2", "To: <sip:alice@example.com>", "Event: presence", "SIP-If-Match: abc123"))
			pr, _ = f.last()
			if pr.Expires != -1 || pr.ContentType != "" || pr.Body != nil {
				t.Fatalf("refresh: %+v", pr)
			}
		})
	}
}

func TestMalformedHeaders(t *testing.T) {
	tests := []struct {
		name  string
		extra string
	}{
		{"RFC 3261 §20.19: Expires not delta-seconds -> 400", "Expires: soon"},
		{"RFC 3903 §11.3.2: SIP-If-Match not a token -> 400", "SIP-If-Match: a b"},
		{"RFC 6665 §8.2.1: Event not a token -> 400", "Event: pres ence"},
	}
	_, _, udp, _ := startFake(t, nil)
	p := newPeer(t, "UDP")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := []string{"From: <sip:alice@example.com>;tag=1", "To: <sip:alice@example.com>", tc.extra}
			if !strings.HasPrefix(tc.extra, "Event") {
				hs = append(hs, "Event: presence")
			}
			res := p.do(p.request(sip.PUBLISH, "sip:alice@example.com", udp, nil, hs...))
			if res.StatusCode != 400 || !strings.HasPrefix(hdr(res, "Warning"), "399 ") {
				t.Fatalf("status %d Warning %q", res.StatusCode, hdr(res, "Warning"))
			}
		})
	}
	t.Run("RFC 3261 §8.2.2.3: Require with unknown option -> 420", func(t *testing.T) {
		res := p.do(p.request(sip.PUBLISH, "sip:alice@example.com", udp, nil,
			"From: <sip:alice@example.com>;tag=1", "To: <sip:alice@example.com>", "Event: presence", "Require: 100rel"))
		if res.StatusCode != 420 || hdr(res, "Unsupported") != "100rel" {
			t.Fatalf("status %d Unsupported %q", res.StatusCode, hdr(res, "Unsupported"))
		}
	})
}

func TestMethodNotAllowed(t *testing.T) {
	_, _, udp, tcp := startFake(t, nil)
	for _, tp := range transports {
		t.Run("RFC 3261 §8.2.1: MESSAGE -> 405 with Allow/"+tp, func(t *testing.T) {
			p := newPeer(t, tp)
			res := p.do(p.request(sip.MESSAGE, "sip:alice@example.com", serverAddr(tp, udp, tcp), nil,
				"From: <sip:bob@example.com>;tag=1", "To: <sip:alice@example.com>"))
			if res.StatusCode != 405 || hdr(res, "Allow") != "PUBLISH, SUBSCRIBE, OPTIONS" {
				t.Fatalf("status %d Allow %q", res.StatusCode, hdr(res, "Allow"))
			}
		})
	}
	t.Run("RFC 3261 §11.2: OPTIONS lists Allow, Allow-Events, Accept", func(t *testing.T) {
		p := newPeer(t, "UDP")
		res := p.do(p.request(sip.OPTIONS, "sip:ps.example.com", udp, nil, "From: <sip:bob@example.com>;tag=1", "To: <sip:ps.example.com>"))
		if res.StatusCode != 200 || hdr(res, "Allow-Events") != "presence, presence.winfo" || hdr(res, "Accept") != mediaPIDF {
			t.Fatalf("status %d %q %q", res.StatusCode, hdr(res, "Allow-Events"), hdr(res, "Accept"))
		}
	})
}

func TestTrust(t *testing.T) {
	pai := `P-Asserted-Identity: <sip:carol@example.com>`
	pcv := `P-Charging-Vector: icid-value=1234bc9876e;orig-ioi=home1.net`
	tests := []struct {
		name        string
		trusted     []string
		wantWatcher string
		wantPCV     string
	}{
		{"RFC 3325 §9.1: PAI from trusted S-CSCF names the requester", []string{"127.0.0.1"}, "sip:carol@example.com", "icid-value=1234bc9876e;orig-ioi=home1.net"},
		{"RFC 3325 §9.1: PAI from untrusted source ignored, From used", []string{"10.0.0.0/8"}, "sip:bob@example.com", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, udp, _ := startFake(t, func(c *Config) { c.TrustedPeers = tc.trusted })
			p := newPeer(t, "UDP")
			res := p.do(p.request(sip.SUBSCRIBE, "sip:alice@example.com", udp, nil,
				"From: <sip:bob@example.com>;tag=w1", "To: <sip:alice@example.com>", "Contact: <"+p.contact()+">",
				"Event: presence", pai, pcv))
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			_, sr := f.last()
			if sr.Watcher != tc.wantWatcher || sr.ChargingVector != tc.wantPCV {
				t.Fatalf("watcher %q pcv %q", sr.Watcher, sr.ChargingVector)
			}
			p.nextNotify()
		})
	}
}

func TestRouteNamingUs(t *testing.T) {
	f, _, udp, _ := startFake(t, func(c *Config) { c.Host = "ps.example.com"; c.Aliases = []string{"as.example.com:5060"} })
	p := newPeer(t, "UDP")
	tests := []struct {
		name, ruri, route, want string
	}{
		{"TS 24.229 §5.7.1: loose Route to AS, then ODI: terminate, R-URI kept", "sip:alice@example.com",
			"Route: <sip:as.example.com;lr>, <sip:iscmark@scscf.example.com;lr;s=1>", "sip:alice@example.com"},
		{"RFC 3261 §16.4: strict router put us in R-URI: last Route is the target", "sip:ps.example.com",
			"Route: <sip:alice@example.com>", "sip:alice@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := p.request(sip.PUBLISH, tc.ruri, udp, []byte(pidfBody),
				"From: <sip:alice@example.com>;tag=1", "To: <sip:alice@example.com>", "Event: presence", tc.route, "Content-Type: application/pidf+xml")
			if res := p.do(req); res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			pr, _ := f.last()
			if pr.Presentity != tc.want {
				t.Fatalf("presentity %q, want %q", pr.Presentity, tc.want)
			}
		})
	}
}

func TestSubscribeDialogAndNotify(t *testing.T) {
	for _, tp := range transports {
		t.Run(tp, func(t *testing.T) {
			f, _, udp, tcp := startFake(t, nil)
			f.mu.Lock()
			f.body = []byte(pidfBody)
			f.mu.Unlock()
			w := newPeer(t, tp)
			proxy := newPeer(t, tp) // records the NOTIFY that the route set sends through it
			rr := "<sip:" + proxy.addr + ";lr>"
			if tp == "TCP" {
				rr = "<sip:" + proxy.addr + ";transport=tcp;lr>"
			}
			res := w.do(w.request(sip.SUBSCRIBE, "sip:alice@example.com", serverAddr(tp, udp, tcp), nil,
				`From: "Bob" <sip:bob@example.com>;tag=w1`, "To: <sip:alice@example.com>", "Call-ID: sub-1@test", "CSeq: 7 SUBSCRIBE",
				"Contact: <"+w.contact()+">", "o: presence;id=42", "Expires: 600", "Accept: application/pidf+xml",
				"Record-Route: "+rr, "Record-Route: <sip:far.example.com;lr>",
				"P-Charging-Vector: icid-value=abc"))
			// RFC 6665 §4.2.1.1 / RFC 3261 §12.1.1: 200 with To-tag, Contact, Expires, Record-Route copied.
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			if tag, _ := res.To().Params.Get("tag"); tag != "srvtag" {
				t.Fatalf("To tag %q", tag)
			}
			if res.Contact() == nil || hdr(res, "Expires") != "600" || len(recordRoutes(res)) != 2 {
				t.Fatalf("Contact %v Expires %q RR %q", res.Contact(), hdr(res, "Expires"), recordRoutes(res))
			}
			if tp == "TCP" && !strings.Contains(res.Contact().Address.String(), "transport=tcp") {
				t.Fatalf("TCP dialog Contact %s lacks transport=tcp", res.Contact().Address.String())
			}
			_, sr := f.last()
			d := sr.Dialog
			if d.CallID != "sub-1@test" || d.RemoteTag != "w1" || d.LocalTag != "" || d.RemoteTarget != w.contact() ||
				len(d.RouteSet) != 2 || d.RouteSet[0] != rr || d.Transport != strings.ToLower(tp) || sr.EventID != "42" ||
				sr.Expires != 600 || len(sr.Accept) != 1 || d.LocalURI != "<sip:alice@example.com>" || d.RemoteURI != `"Bob" <sip:bob@example.com>` {
				t.Fatalf("request %+v", sr)
			}
			// RFC 6665 §4.2.2, RFC 3261 §12.2.1.1: NOTIFY goes to the first route (loose),
			// Request-URI = remote target, Route = route set.
			n := proxy.nextNotify()
			if err := <-f.notified; err != nil {
				t.Fatalf("Notify: %v", err)
			}
			checks := map[string][2]string{
				"Request-URI":        {n.Recipient.String(), w.contact()},
				"Call-ID":            {n.CallID().Value(), "sub-1@test"},
				"CSeq":               {n.CSeq().Value(), "1 NOTIFY"},
				"Event":              {hdr(n, "Event"), "presence;id=42"},
				"Subscription-State": {hdr(n, "Subscription-State"), "active;expires=600"},
				"P-Charging-Vector":  {hdr(n, "P-Charging-Vector"), "icid-value=abc"},
				"Content-Type":       {hdr(n, "Content-Type"), mediaPIDF},
				"Route":              {strings.Join(headerValuesAll(n, "Route"), ", "), rr + ", <sip:far.example.com;lr>"},
				"From":               {n.From().Value(), "<sip:alice@example.com>;tag=srvtag"},
				"To":                 {n.To().Value(), `"Bob" <sip:bob@example.com>;tag=w1`},
				"Body":               {string(n.Body()), pidfBody},
			}
			for name, c := range checks {
				if c[0] != c[1] {
					t.Errorf("%s = %q, want %q", name, c[0], c[1])
				}
			}
			if n.Contact() == nil {
				t.Errorf("NOTIFY without Contact")
			}
		})
	}
}

func headerValuesAll(m sip.Message, name string) []string {
	var out []string
	for _, h := range m.GetHeaders(name) {
		out = append(out, h.Value())
	}
	return out
}

func TestIPv6(t *testing.T) {
	for _, tp := range transports {
		t.Run(tp, func(t *testing.T) {
			f, _, udp, tcp := startFake(t, func(c *Config) { c.UDP, c.TCP = "[::1]:0", "[::1]:0" })
			w := newPeerAt(t, tp, "[::1]:0")
			if w == nil {
				t.Fatal("no IPv6 loopback")
			}
			res := w.do(w.request(sip.SUBSCRIBE, "sip:alice@example.com", serverAddr(tp, udp, tcp), nil,
				"From: <sip:bob@example.com>;tag=v6", "To: <sip:alice@example.com>", "Contact: <"+w.contact()+">",
				"Event: presence", "P-Asserted-Identity: <sip:bob@example.com>"))
			if res.StatusCode != 200 || res.Contact() == nil || !strings.Contains(res.Contact().Address.String(), "[::1]") {
				t.Fatalf("status %d Contact %v", res.StatusCode, res.Contact())
			}
			n := w.nextNotify()
			if err := <-f.notified; err != nil {
				t.Fatalf("Notify: %v", err)
			}
			if via := n.Via(); via == nil || !strings.Contains(via.Value(), "[::1]") {
				t.Fatalf("Via %v", n.Via())
			}
			if _, sr := f.last(); sr.Watcher != "sip:bob@example.com" {
				t.Fatalf("::1 is trusted by default; watcher %q", sr.Watcher)
			}
		})
	}
}

func TestGracefulShutdown(t *testing.T) {
	f, srv, udp, _ := startFake(t, nil)
	f.mu.Lock()
	f.entered, f.release = make(chan struct{}, 1), make(chan struct{})
	f.mu.Unlock()
	p := newPeer(t, "UDP")
	inflight := make(chan int, 1)
	go func() {
		res, err := p.client.Do(t.Context(), p.request(sip.PUBLISH, "sip:alice@example.com", udp, []byte(pidfBody),
			"From: <sip:alice@example.com>;tag=1", "To: <sip:alice@example.com>", "Event: presence", "Content-Type: application/pidf+xml"))
		if err != nil {
			inflight <- 0
			return
		}
		inflight <- res.StatusCode
	}()
	<-f.entered // the PUBLISH is inside the presence core
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	// While draining, new requests are refused with 503 and Retry-After (the UDP socket
	// stays open until in-flight transactions are done).
	for i := 0; ; i++ {
		res := p.do(p.request(sip.OPTIONS, "sip:ps.example.com", udp, nil, "From: <sip:bob@example.com>;tag=o"+fmt.Sprint(i), "To: <sip:ps.example.com>"))
		if res.StatusCode == 503 {
			if hdr(res, "Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
			break
		}
	}
	select {
	case <-closed:
		t.Fatal("Close returned with a request in flight")
	default:
	}
	close(f.release)
	if code := <-inflight; code != 200 {
		t.Fatalf("in-flight PUBLISH got %d", code)
	}
	<-closed
}
