package ut_test

import (
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/icholy/digest"
	"github.com/imsps/imsps/ut"
)

// digestDo answers the server's challenge for algorithm alg as username/password and
// returns the status. nc is the nonce count (replays reuse one).
func digestDo(t *testing.T, e *env, method, path, ctype, body, username, password, alg string, uriParam string) (int, *digest.Credentials, *digest.Challenge) {
	t.Helper()
	r := e.do(method, path, "", ct(ctype), body)
	if r.status != 401 {
		t.Fatalf("first %s %s = %d, want 401", method, path, r.status)
	}
	var chal *digest.Challenge
	for _, h := range r.hdr.Values("WWW-Authenticate") {
		c, err := digest.ParseChallenge(h)
		if err == nil && strings.EqualFold(c.Algorithm, alg) {
			chal = c
		}
	}
	if chal == nil {
		t.Fatalf("no %s challenge in %q", alg, r.hdr.Values("WWW-Authenticate"))
	}
	target := strings.TrimPrefix(e.srv.Root, e.srv.HTTP.URL) + path
	if uriParam == "" {
		uriParam = target
	}
	cred, err := digest.Digest(chal, digest.Options{Method: method, URI: uriParam, Username: username, Password: password, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := ct(ctype)
	h["Authorization"] = cred.String()
	return e.do(method, path, "", h, body).status, cred, chal
}

func TestAuthentication(t *testing.T) {
	cfg := ut.DefaultConfig() // no trusted proxy, Digest on
	cfg.Admins = []string{"sip:admin@example.com"}
	e := start(t, cfg)
	doc := `<root xmlns="urn:ietf:params:xml:ns:resource-lists"/>`

	t.Run("TS24.109 §7: forged X-3GPP-Asserted-Identity from an untrusted address is 403", func(t *testing.T) {
		if r := e.do("GET", aliceDoc, alice, nil, ""); r.status != 403 {
			t.Fatalf("%d", r.status)
		}
	})
	t.Run("RFC7616 §3.3: no credentials is 401 with SHA-256 and MD5 challenges", func(t *testing.T) {
		r := e.do("GET", "/no-such-auid/users/sip:alice@example.com/index", "", nil, "")
		ch := r.hdr.Values("WWW-Authenticate")
		if r.status != 401 || len(ch) != 2 || !strings.Contains(ch[0], "SHA-256") || !strings.Contains(ch[1], "MD5") ||
			!strings.Contains(ch[0], `realm="example.com"`) || !strings.Contains(ch[0], `qop="auth"`) {
			t.Fatalf("%d %q", r.status, ch)
		}
	})
	tests := []struct {
		name, user, pass, alg, path string
		uri                         string
		want                        int
	}{
		{"RFC7616: MD5 with the full private identity", "alice@example.com", "alice", "MD5", aliceDoc, "", 201},
		{"RFC7616: SHA-256 with the user part and the realm as domain", "alice", "alice", "SHA-256", aliceDoc, "", 200},
		{"RFC7616: uri parameter repeating unencoded brackets as sent", "alice", "alice", "MD5",
			aliceDoc + `/~~/root/list[@name="a"]`, "", 201},
		{"RFC7616: wrong password is 401", "alice", "wrong", "MD5", aliceDoc, "", 401},
		{"RFC7616: unknown user is 401", "mallory", "x", "MD5", aliceDoc, "", 401},
		{"RFC7616 §3.4: uri parameter naming another resource is 400", "alice", "alice", "MD5", aliceDoc, "/xcap-root/other", 400},
		{"RFC4825 §5.7: alice may not write bob's documents", "alice", "alice", "MD5", "/resource-lists/users/sip:bob@example.com/index", "", 403},
		{"RFC4825 §5.7: alice owns her tel alias", "alice", "alice", "MD5", "/resource-lists/users/tel:+15550100/index", "", 201},
		{"RFC4825 §5.7: the global tree is read-only", "bob", "bob", "MD5", "/resource-lists/global/index", "", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctype, body := rlType, doc
			if strings.Contains(tc.path, "~~") {
				ctype, body = elType, `<list name="a"/>`
			}
			got, _, _ := digestDo(t, e, "PUT", tc.path, ctype, body, tc.user, tc.pass, tc.alg, tc.uri)
			if got != tc.want {
				t.Fatalf("%d, want %d", got, tc.want)
			}
		})
	}
	t.Run("RFC7616 §3.4: a replayed nonce count is refused", func(t *testing.T) {
		st, cred, _ := digestDo(t, e, "GET", aliceDoc, "", "", "alice", "alice", "MD5", "")
		if st != 200 {
			t.Fatalf("%d", st)
		}
		h := map[string]string{"Authorization": cred.String()}
		if r := e.do("GET", aliceDoc, "", h, ""); r.status != 401 {
			t.Fatalf("replay: %d", r.status)
		}
		cred.Nc = 2
		next, _ := digest.Digest(&digest.Challenge{Realm: cred.Realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, QOP: []string{"auth"}},
			digest.Options{Method: "GET", URI: cred.URI, Username: "alice", Password: "alice", Count: 2, Cnonce: cred.Cnonce})
		h["Authorization"] = next.String()
		if r := e.do("GET", aliceDoc, "", h, ""); r.status != 200 {
			t.Fatalf("next nc: %d", r.status)
		}
	})
	t.Run("TS24.109 §5.2: an X-3GPP-Intended-Identity that is not the user's is 403", func(t *testing.T) {
		for who, want := range map[string]int{`"sip:bob@example.com"`: 403, `"tel:+15550100"`: 200} {
			r := e.do("GET", aliceDoc, "", nil, "")
			chal, _ := digest.ParseChallenge(r.hdr.Values("WWW-Authenticate")[1])
			cred, _ := digest.Digest(chal, digest.Options{Method: "GET", URI: "/xcap-root" + aliceDoc, Username: "alice", Password: "alice", Count: 1})
			got := e.do("GET", aliceDoc, "", map[string]string{"Authorization": cred.String(), "X-3GPP-Intended-Identity": who}, "")
			if got.status != want {
				t.Fatalf("%s: %d, want %d", who, got.status, want)
			}
		}
	})
	t.Run("RFC4825 §5.7: Basic is not accepted without TLS", func(t *testing.T) {
		h := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:alice"))}
		if r := e.do("GET", aliceDoc, "", h, ""); r.status != 401 {
			t.Fatalf("%d", r.status)
		}
	})
}

func TestAssertedHandler(t *testing.T) {
	cfg := ut.DefaultConfig()
	cfg.Digest.Enabled = false
	e := start(t, cfg)
	h := e.srv.AssertedHandler()
	doc := `<root xmlns="urn:ietf:params:xml:ns:resource-lists"/>`
	tests := []struct {
		name, method, who, target, ctype, body string
		want                                   int
	}{
		{"TS24.109 §7: the NAF's asserted identity is believed", "PUT", alice, "/xcap-root" + aliceDoc, rlType, doc, 201},
		{"TS24.109 §7: a list of asserted identities (tel alias first)", "GET", `tel:+15550100", "sip:alice@example.com`, "/xcap-root" + aliceDoc, "", "", 200},
		{"TS24.109 §7: without the header it is 403", "GET", "", "/xcap-root" + aliceDoc, "", "", 403},
		{"RFC4825 §5.7: another user's tree is 403", "GET", bob, "/xcap-root" + aliceDoc, "", "", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serveDirect(h, tc.method, tc.target, tc.who, tc.ctype, tc.body, nil)
			if rec.Code != tc.want {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body.String(), tc.want)
			}
		})
	}
	t.Run("TS24.109 §7: Handler without trusted proxies and without Digest refuses everyone", func(t *testing.T) {
		if r := e.do("GET", aliceDoc, "", nil, ""); r.status != 403 {
			t.Fatalf("%d", r.status)
		}
	})
}

func TestBasicOverTLS(t *testing.T) {
	cfg := ut.DefaultConfig()
	cfg.BasicOverTLS = true
	if _, err := ut.New(cfg, nil, []ut.AppUsage{&listUsage{}}, nil); err == nil {
		t.Fatal("New accepted a nil store")
	}
	e := start(t, cfg)
	ts := httptest.NewTLSServer(e.srv.Handler())
	defer ts.Close()
	client := ts.Client()
	client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	req, _ := http.NewRequest("GET", ts.URL+"/xcap-root"+aliceDoc, nil)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 || !strings.Contains(strings.Join(res.Header.Values("WWW-Authenticate"), " "), "Basic") {
		t.Fatalf("RFC7617: %d %q", res.StatusCode, res.Header.Values("WWW-Authenticate"))
	}
	req.SetBasicAuth("alice", "alice")
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("RFC7617: Basic over TLS as alice: %d, want 404 (no document yet)", res.StatusCode)
	}
}
