package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/imsps/imsps/conformance"
)

func pidfBody(entity, tuple string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="` + entity +
		`"><tuple id="` + tuple + `"><status><basic>open</basic></status></tuple></presence>`
}

func publishStep(label, aor, tuple string, status int) conformance.Step {
	return conformance.Step{Label: label, SIP: &conformance.SIPRequest{Actor: "pua", Method: "PUBLISH", To: aor, From: aor,
		Headers:     []conformance.Header{{Name: "Event", Value: "presence"}},
		ContentType: "application/pidf+xml", Body: pidfBody(aor, tuple), Expect: conformance.Expect{Status: status}}}
}

func runFlow(t *testing.T, s *stack, steps ...conformance.Step) {
	t.Helper()
	rep := conformance.Run(t.Context(), conformance.Target{SIP: s.addr["sip.udp"].String(), Domain: "example.com"},
		[]conformance.Flow{{Name: t.Name(), Steps: steps}})
	if _, failed := rep.Counts(); failed > 0 {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatal(b.String())
	}
}

// Without open provisioning only the HSS's subscribers exist (TS 29.328 UDR): an unknown user
// of a served domain is 404, and alice's tel alias publishes into alice's one presentity.
func TestHSSDecidesWhoExists(t *testing.T) {
	cfg := testConfig(t)
	cfg.HSS.OpenProvisioningDomains = nil
	s := startStack(t, cfg)
	runFlow(t, s,
		publishStep("unknown user", "sip:carol@example.com", "c1", 404),
		publishStep("tel alias of alice", "tel:+15550100", "viatel", 200),
		publishStep("alice herself", "sip:alice@example.com", "viasip", 200),
		conformance.Step{Label: "fetch alice", SIP: &conformance.SIPRequest{Actor: "w", Method: "SUBSCRIBE", To: "sip:alice@example.com", From: "sip:bob@example.com", Dialog: "f",
			Headers: []conformance.Header{{Name: "Event", Value: "presence"}, {Name: "Expires", Value: "0"}}, Expect: conformance.Expect{Status: 200}}},
		conformance.Step{Label: "one presentity", Notify: &conformance.NotifyExpect{Actor: "w", Dialog: "f", BodyHas: []string{`id="viatel"`, `id="viasip"`}}},
	)
}

// A PNR that says alice is NOT_REGISTERED removes her soft state (presence.on_deregistration:
// remove), and her watcher is told.
func TestDeregistrationPushRemovesSoftState(t *testing.T) {
	s := startStack(t, testConfig(t))
	admin := "http://" + s.addr["hss.admin_listen"].String() + "/subscribers/" + url.PathEscape("sip:alice@example.com") + "/state"
	runFlow(t, s,
		publishStep("publish", "sip:alice@example.com", "t1", 200),
		conformance.Step{Label: "watch", SIP: &conformance.SIPRequest{Actor: "w", Method: "SUBSCRIBE", To: "sip:alice@example.com", From: "sip:bob@example.com", Dialog: "w",
			Headers: []conformance.Header{{Name: "Event", Value: "presence"}, {Name: "Expires", Value: "600"}}, Expect: conformance.Expect{Status: 200}}},
		conformance.Step{Label: "state", Notify: &conformance.NotifyExpect{Actor: "w", Dialog: "w", BodyHas: []string{`id="t1"`}}},
	)
	res, err := http.Post(admin, "text/plain", strings.NewReader("NOT_REGISTERED"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		t.Fatalf("HSS admin: %s", res.Status)
	}
	runFlow(t, s,
		conformance.Step{Label: "fetch alice", SIP: &conformance.SIPRequest{Actor: "w", Method: "SUBSCRIBE", To: "sip:alice@example.com", From: "sip:bob@example.com", Dialog: "f",
			Headers: []conformance.Header{{Name: "Event", Value: "presence"}, {Name: "Expires", Value: "0"}}, Expect: conformance.Expect{Status: 200}}},
		conformance.Step{Label: "soft state gone", Notify: &conformance.NotifyExpect{Actor: "w", Dialog: "f", BodyLacks: []string{`id="t1"`}}},
	)
}

// With the HSS gone, an identity the cache does not hold gets 503 with Retry-After within
// sh.lookup_deadline, never a hang.
func TestHSSUnreachableAnswers503(t *testing.T) {
	cfg := testConfig(t)
	cfg.HSS.Enabled = false
	cfg.Sh.Peers[0].Addr = "127.0.0.1:1" // nothing listens
	s := startStack(t, cfg)
	rep := conformance.Run(t.Context(), conformance.Target{SIP: s.addr["sip.udp"].String(), Domain: "example.com"},
		[]conformance.Flow{{Name: "no HSS", Steps: []conformance.Step{{Label: "publish", SIP: &conformance.SIPRequest{
			Actor: "pua", Method: "PUBLISH", To: "sip:alice@example.com", From: "sip:alice@example.com",
			Headers:     []conformance.Header{{Name: "Event", Value: "presence"}},
			ContentType: "application/pidf+xml", Body: pidfBody("sip:alice@example.com", "t"),
			Expect: conformance.Expect{Status: 503, Headers: map[string]string{"Retry-After": `^\d+`}}}}}}})
	if _, failed := rep.Counts(); failed > 0 {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatal(b.String())
	}
}

func registerStep(label, impu, expires string, status int) conformance.Step {
	return conformance.Step{Label: label, SIP: &conformance.SIPRequest{Actor: "scscf", Method: "REGISTER", To: impu, From: "sip:scscf.example.com",
		Headers: []conformance.Header{{Name: "Expires", Value: expires}}, Expect: conformance.Expect{Status: status}}}
}

// A third-party REGISTER with Expires: 0 from the S-CSCF (TS 24.229 §5.4.1.7) de-registers
// alice: her soft state goes, as with a PNR. From anyone but a trusted S-CSCF it is refused.
func TestThirdPartyDeregistration(t *testing.T) {
	s := startStack(t, testConfig(t))
	runFlow(t, s,
		registerStep("third-party REGISTER", "sip:alice@example.com", "600000", 200),
		publishStep("publish", "sip:alice@example.com", "t1", 200),
		registerStep("third-party de-REGISTER", "sip:alice@example.com", "0", 200),
		conformance.Step{Label: "fetch alice", SIP: &conformance.SIPRequest{Actor: "w", Method: "SUBSCRIBE", To: "sip:alice@example.com", From: "sip:bob@example.com", Dialog: "f",
			Headers: []conformance.Header{{Name: "Event", Value: "presence"}, {Name: "Expires", Value: "0"}}, Expect: conformance.Expect{Status: 200}}},
		conformance.Step{Label: "soft state gone", Notify: &conformance.NotifyExpect{Actor: "w", Dialog: "f", BodyLacks: []string{`id="t1"`}}},
	)

	cfg := testConfig(t)
	cfg.SIP.TrustedPeers = []string{"192.0.2.1"}
	runFlow(t, startStack(t, cfg), registerStep("REGISTER from an untrusted address", "sip:alice@example.com", "0", 403))
}
