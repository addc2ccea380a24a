package bsf_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/imsps/imsps/bsf"
	"github.com/imsps/imsps/bsf/bsftest"
)

const pidfDoc = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="t1"><status><basic>open</basic></status></tuple></presence>`

const alicePIDF = "/xcap-root/pidf-manipulation/users/sip:alice@example.com/index"

func do(t *testing.T, ue *bsftest.UE, method, url string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := ue.Do(t.Context(), req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestUbBootstrap(t *testing.T) {
	l := startLab(t, nil)
	ue := l.ue(t, "alice@example.com")
	if !strings.HasSuffix(ue.BTID(), "@bsf.example.com") || len(ue.BTID()) != len("I1U8vpY3qJ0hiuZNrke/NQ==@bsf.example.com") {
		t.Errorf("TS 33.220 §4.5.2: B-TID %q is not base64(RAND)@bsf.example.com", ue.BTID())
	}
	if want := l.clock.Now().Add(time.Hour); !ue.Lifetime().Equal(want) {
		t.Errorf("TS 24.109 Annex C: lifetime %v, want %v", ue.Lifetime(), want)
	}
	k, err := l.bsf.NAFKey(t.Context(), ue.BTID(), bsf.NAFID("127.0.0.1", bsf.UaHTTPDigest))
	if err != nil {
		t.Fatal(err)
	}
	if k.IMPI != "alice@example.com" || len(k.Key) != 32 || k.Identities()[0] != "sip:alice@example.com" {
		t.Errorf("TS 29.109 §6.2.2: NAF key %+v", k)
	}
}

func TestUbQOP(t *testing.T) {
	l := startLab(t, nil)
	for _, qop := range []string{"auth-int", "auth"} {
		t.Run("RFC 3310 §3: qop="+qop, func(t *testing.T) {
			ue := bsftest.NewUE("bob@example.com", demoK, demoOPc)
			ue.UbQOP = qop
			if err := ue.Bootstrap(t.Context(), l.ubURL); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUtThroughProxy(t *testing.T) {
	l := startLab(t, nil)
	ue := l.ue(t, "alice@example.com")
	url := l.proxyURL + alicePIDF
	resp, _ := do(t, ue, http.MethodPut, url, []byte(pidfDoc), map[string]string{"Content-Type": "application/pidf+xml"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("TS 24.623 §5.2.3.2: PUT through the proxy: %s", resp.Status)
	}
	asserted, authz := l.rec.last()
	if asserted != `"sip:alice@example.com"` || authz != "" {
		t.Errorf("TS 24.109 §5.3.2: XCAP server got asserted %q, Authorization %q", asserted, authz)
	}
	resp, body := do(t, ue, http.MethodGet, url, nil, nil)
	if resp.StatusCode != http.StatusOK || string(body) != pidfDoc {
		t.Fatalf("GET back: %s %q", resp.Status, body)
	}
}

func TestIntendedIdentity(t *testing.T) {
	l := startLab(t, nil)
	ue := l.ue(t, "alice@example.com")
	tests := []struct {
		name         string
		intended     string
		wantStatus   int
		wantAsserted string
	}{
		{"TS 24.109 §5.3.2: own alias is asserted", `"tel:+15550100"`, http.StatusOK, `"tel:+15550100"`},
		{"TS 24.109 §5.3.2: own default identity", `"sip:alice@example.com"`, http.StatusOK, `"sip:alice@example.com"`},
		{"TS 24.109 §5.3.2: another user's identity -> 403", `"sip:bob@example.com"`, http.StatusForbidden, ""},
		{"TS 24.109 §5.3.2: unquoted own identity", `tel:+15550100`, http.StatusOK, `"tel:+15550100"`},
	}
	l.rec.docs[alicePIDF] = []byte(pidfDoc)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := do(t, ue, http.MethodGet, l.proxyURL+alicePIDF, nil, map[string]string{bsf.HeaderIntendedIdentity: tc.intended})
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %s, want %d", resp.Status, tc.wantStatus)
			}
			if tc.wantAsserted != "" {
				if asserted, _ := l.rec.last(); asserted != tc.wantAsserted {
					t.Errorf("asserted %q, want %q", asserted, tc.wantAsserted)
				}
			}
		})
	}
}

func TestResyncWithAUTS(t *testing.T) {
	l := startLab(t, nil)
	ue := bsftest.NewUE("alice@example.com", demoK, demoOPc)
	ue.SetSQN(0xfffffffff000) // the USIM is ahead of the network's ff9bb4d0b607
	if err := ue.Bootstrap(t.Context(), l.ubURL); err != nil {
		t.Fatalf("RFC 3310 §3: bootstrap after resync: %v", err)
	}
	if ue.Resyncs() != 1 {
		t.Errorf("TS 33.102 §6.3.5: %d resynchronisations, want 1", ue.Resyncs())
	}
	resp, _ := do(t, ue, http.MethodGet, l.proxyURL+alicePIDF, nil, nil)
	if resp.StatusCode != http.StatusNotFound { // authenticated, the recorder has no document
		t.Errorf("after resync: %s", resp.Status)
	}
}

func TestMACFailure(t *testing.T) {
	l := startLab(t, nil)
	wrongK := bytes.Repeat([]byte{0x42}, 16)
	ue := bsftest.NewUE("alice@example.com", wrongK, demoOPc)
	err := ue.Bootstrap(t.Context(), l.ubURL)
	if !errors.Is(err, bsftest.ErrNetworkAuth) {
		t.Fatalf("RFC 3310 §3: a UE with another K must reject AUTN, got %v", err)
	}
	if ue.BTID() != "" {
		t.Errorf("no B-TID after MAC failure, got %q", ue.BTID())
	}
}

func TestUbUnknownIMPI(t *testing.T) {
	l := startLab(t, nil)
	err := bsftest.NewUE("mallory@example.com", demoK, demoOPc).Bootstrap(t.Context(), l.ubURL)
	if !errors.Is(err, bsftest.ErrRefused) || !strings.Contains(err.Error(), "403") {
		t.Fatalf("TS 24.109 §5.2.1: unknown IMPI: %v", err)
	}
}

func TestExpiredBTIDRebootstrap(t *testing.T) {
	l := startLab(t, nil)
	ue := l.ue(t, "alice@example.com")
	first := ue.BTID()
	if resp, _ := do(t, ue, http.MethodGet, l.proxyURL+alicePIDF, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("before expiry: %s", resp.Status)
	}
	l.clock.Advance(2 * time.Hour) // past key_lifetime (1h) and nonce_lifetime
	if resp, _ := do(t, ue, http.MethodGet, l.proxyURL+alicePIDF, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("TS 24.109 §5.3.2: after expiry the UE re-bootstraps and gets through: %s", resp.Status)
	}
	if ue.BTID() == first {
		t.Errorf("B-TID unchanged after expiry: %s", first)
	}
	if _, err := l.bsf.NAFKey(t.Context(), first, bsf.NAFID("127.0.0.1", bsf.UaHTTPDigest)); !errors.Is(err, bsf.ErrBTIDUnknown) {
		t.Errorf("TS 29.109 §6.3: expired B-TID gives %v, want ErrBTIDUnknown (5403)", err)
	}
	if n, err := l.bsf.Sweep(t.Context()); err != nil || n != 1 {
		t.Errorf("sweep deleted %d (%v), want 1", n, err)
	}
}

// plainDigest sends one request answering the proxy's plain Digest challenge (RFC 2617).
func plainDigest(t *testing.T, url, user, password string) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var chal *digest.Challenge
	for _, h := range resp.Header.Values("WWW-Authenticate") {
		c, err := digest.ParseChallenge(h)
		if err == nil && c.Realm == "example.com" {
			chal = c
		}
	}
	if chal == nil {
		t.Fatalf("no plain Digest challenge in %v", resp.Header.Values("WWW-Authenticate"))
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	cred, err := digest.Digest(chal, digest.Options{Method: http.MethodGet, URI: req.URL.RequestURI(), Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", cred.String())
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestPlainDigest(t *testing.T) {
	l := startLab(t, nil)
	tests := []struct {
		name, user, password string
		want                 int
		asserted             string
	}{
		{"RFC 2617 §3.2.2: full IMPI and right password", "alice@example.com", "alice", http.StatusNotFound, `"sip:alice@example.com"`},
		{"RFC 2617 §3.2.2: user part in realm example.com", "bob", "bob", http.StatusNotFound, `"sip:bob@example.com"`},
		{"RFC 2617 §3.2.2: wrong password -> 401", "alice", "bob", http.StatusUnauthorized, ""},
		{"RFC 2617 §3.2.2: unknown user -> 401", "mallory", "x", http.StatusUnauthorized, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := plainDigest(t, l.proxyURL+alicePIDF, tc.user, tc.password)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %s, want %d", resp.Status, tc.want)
			}
			if tc.asserted != "" {
				if a, _ := l.rec.last(); a != tc.asserted {
					t.Errorf("asserted %q, want %q", a, tc.asserted)
				}
			}
		})
	}
}

func TestProxyChallenge(t *testing.T) {
	l := startLab(t, nil)
	tests := []struct {
		name, host string
		want       int
		realm      string
	}{
		{"TS 24.109 §5.2.2: realm 3GPP-bootstrapping@<Host>", "", http.StatusUnauthorized, "3GPP-bootstrapping@127.0.0.1"},
		{"TS 24.109 §5.2.2: localhost is a NAF name", "localhost:8081", http.StatusUnauthorized, "3GPP-bootstrapping@localhost"},
		{"RFC 9110 §15.5.20: unknown Host -> 421", "xcap.elsewhere.net", http.StatusMisdirectedRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, l.proxyURL+alicePIDF, nil)
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %s, want %d", resp.Status, tc.want)
			}
			if tc.realm == "" {
				return
			}
			chal, err := digest.ParseChallenge(resp.Header.Get("WWW-Authenticate"))
			if err != nil || chal.Realm != tc.realm || chal.Algorithm != "MD5" || !chal.SupportsQOP("auth-int") {
				t.Errorf("challenge %+v (%v)", chal, err)
			}
		})
	}
}

func TestProxyNonceReplay(t *testing.T) {
	l := startLab(t, nil)
	ue := l.ue(t, "alice@example.com")
	do(t, ue, http.MethodGet, l.proxyURL+alicePIDF, nil, nil)
	// Capture one authorised request and send it twice.
	var captured string
	capture := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if a := r.Header.Get("Authorization"); a != "" {
			captured = a
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	ue.Client = capture
	do(t, ue, http.MethodGet, l.proxyURL+alicePIDF, nil, nil)
	if captured == "" {
		t.Fatal("no Authorization sent")
	}
	req, _ := http.NewRequest(http.MethodGet, l.proxyURL+alicePIDF, nil)
	req.Header.Set("Authorization", captured)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	chal, _ := digest.ParseChallenge(resp.Header.Get("WWW-Authenticate"))
	if resp.StatusCode != http.StatusUnauthorized || chal == nil || !chal.Stale {
		t.Errorf("RFC 2617 §3.2.2: replayed nc: %s stale=%v", resp.Status, chal != nil && chal.Stale)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestProxyStaleNonce(t *testing.T) {
	l := startLab(t, nil)
	ue := l.ue(t, "alice@example.com")
	btid := ue.BTID()
	if resp, _ := do(t, ue, http.MethodGet, l.proxyURL+alicePIDF, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatal(resp.Status)
	}
	l.clock.Advance(6 * time.Minute) // past nonce_lifetime (5m), within key_lifetime (1h)
	if resp, _ := do(t, ue, http.MethodGet, l.proxyURL+alicePIDF, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("RFC 2617 §3.2.1: after stale=true the UE retries with the same B-TID: %s", resp.Status)
	}
	if ue.BTID() != btid {
		t.Errorf("a stale nonce must not make the UE bootstrap again (B-TID %s -> %s)", btid, ue.BTID())
	}
}

func TestProxyReplacesForgedAssertedIdentity(t *testing.T) {
	l := startLab(t, nil)
	ue := l.ue(t, "alice@example.com")
	resp, _ := do(t, ue, http.MethodGet, l.proxyURL+alicePIDF, nil, map[string]string{bsf.HeaderAssertedIdentity: `"sip:bob@example.com"`})
	if resp.StatusCode != http.StatusNotFound {
		t.Fatal(resp.Status)
	}
	if a, _ := l.rec.last(); a != `"sip:alice@example.com"` {
		t.Errorf("TS 24.109 §5.3.2: a UE's own X-3GPP-Asserted-Identity must not pass the proxy; XCAP got %q", a)
	}
}

func TestServeClose(t *testing.T) {
	l := startLab(t, nil)
	ub := listen(t)
	done := make(chan error, 1)
	go func() { done <- l.bsf.Serve(context.Background(), ub) }()
	if err := bsftest.NewUE("bob@example.com", demoK, demoOPc).Bootstrap(t.Context(), "http://"+ub.Addr().String()+"/"); err != nil {
		t.Fatal(err)
	}
	if err := l.bsf.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve after Close: %v", err)
	}
	if err := l.bsf.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
