package main

import (
	"bytes"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/imsps/imsps/bsf/bsftest"
	"github.com/imsps/imsps/conformance"
)

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A UE bootstraps with the BSF (Ub, Digest AKA), then writes its hard-state presence through
// the authentication proxy (GBA Digest with B-TID and Ks_NAF); the XCAP server sees alice's
// asserted identity, and a SIP watcher of alice receives the new state.
func TestUEBootstrapsThenWritesPresenceThroughTheProxy(t *testing.T) {
	s := startStack(t, testConfig(t))
	ctx := t.Context()

	// TS 35.208 test set 1, alice's keys in configs/subscribers.yaml.
	ue := bsftest.NewUE("alice@example.com", mustHex(t, "465b5ce8b199b49faa5f0a2ee238a6bc"), mustHex(t, "cd63cb71954a9f4e48a5994e37a02baf"))
	if err := ue.Bootstrap(ctx, "http://"+s.addr["bsf.listen"].String()+"/"); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	if !strings.HasSuffix(ue.BTID(), "@bsf.example.com") {
		t.Fatalf("B-TID %q", ue.BTID())
	}

	// The UE addresses the proxy as localhost, one of its NAF names.
	_, port, _ := strings.Cut(s.addr["authproxy.listen"].String(), ":")
	doc := "http://localhost:" + port + "/xcap-root/pidf-manipulation/users/sip:alice@example.com/index"
	body := `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="gba1"><status><basic>open</basic></status><note>via GBA</note></tuple></presence>`
	req, _ := http.NewRequestWithContext(ctx, "PUT", doc, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/pidf+xml")
	req.Header.Set("X-3GPP-Intended-Identity", `"sip:alice@example.com"`)
	res, err := ue.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("PUT through the proxy: %s", res.Status)
	}
	req, _ = http.NewRequestWithContext(ctx, "GET", doc, nil)
	res, err = ue.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Equal(got, []byte(body)) {
		t.Fatalf("GET through the proxy: %s %q", res.Status, got)
	}

	// Bob's document is not alice's to write, whatever identity she intends.
	req, _ = http.NewRequestWithContext(ctx, "PUT", strings.ReplaceAll(doc, "alice", "bob"), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/pidf+xml")
	req.Header.Set("X-3GPP-Intended-Identity", `"sip:bob@example.com"`)
	if res, err = ue.Do(ctx, req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("PUT to bob's document as bob: %s, want 403", res.Status)
	}

	// The composed state a watcher fetches now carries the tuple written over Ut.
	fetch := conformance.Run(ctx, conformance.Target{SIP: s.addr["sip.udp"].String(), Domain: "example.com", XUI: "sip:alice@example.com"},
		[]conformance.Flow{{Name: "fetch alice", Steps: []conformance.Step{
			{Label: "fetch", SIP: &conformance.SIPRequest{Actor: "w", Method: "SUBSCRIBE", To: "${xui}", From: "${aor:w}", Dialog: "f",
				Headers: []conformance.Header{{Name: "Event", Value: "presence"}, {Name: "Expires", Value: "0"}}, Expect: conformance.Expect{Status: 200}}},
			{Label: "NOTIFY", Notify: &conformance.NotifyExpect{Actor: "w", Dialog: "f", State: "^terminated", BodyHas: []string{`<tuple id="gba1"`, "via GBA"}}},
		}}})
	if _, failed := fetch.Counts(); failed > 0 {
		var b strings.Builder
		fetch.WriteText(&b)
		t.Fatal(b.String())
	}
}

// The XCAP listener believes no X-3GPP-Asserted-Identity from the network in the default
// profile: a local process forging alice's identity gets nothing.
func TestForgedAssertedIdentityIsRefused(t *testing.T) {
	s := startStack(t, testConfig(t))
	for _, method := range []string{"GET", "PUT"} {
		req, _ := http.NewRequest(method, "http://"+s.addr["xcap.listen"].String()+"/xcap-root/pidf-manipulation/users/sip:alice@example.com/index",
			strings.NewReader(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>`))
		req.Header.Set("X-3GPP-Asserted-Identity", `"sip:alice@example.com"`)
		req.Header.Set("Content-Type", "application/pidf+xml")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s with a forged asserted identity: %s, want 401 or 403", method, res.Status)
		}
	}
}
