package ut_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/imsps/imsps/ut"
	"github.com/imsps/imsps/ut/uttest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

const (
	rlNS    = "urn:ietf:params:xml:ns:resource-lists"
	rlType  = "application/resource-lists+xml"
	elType  = "application/xcap-el+xml"
	attType = "application/xcap-att+xml"
	alice   = "sip:alice@example.com"
	bob     = "sip:bob@example.com"
)

// listUsage is a resource-lists-like application usage without a schema; check, when
// set, plays the usage's constraints.
type listUsage struct {
	auid  string
	check func(ut.Candidate) error

	mu      sync.Mutex
	changes []string
}

func (u *listUsage) AUID() string {
	if u.auid == "" {
		return "resource-lists"
	}
	return u.auid
}
func (u *listUsage) MediaType() string        { return rlType }
func (u *listUsage) DefaultNamespace() string { return rlNS }
func (u *listUsage) Check(ctx context.Context, c ut.Candidate) error {
	if u.check != nil {
		return u.check(c)
	}
	return nil
}
func (u *listUsage) Changed(ctx context.Context, key ut.DocumentKey, body []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	state := "deleted"
	if body != nil {
		state = string(body)
	}
	u.changes = append(u.changes, key.XUI+"/"+key.Name+"="+state)
}

// pidfUsage allows only documents named "index" (RFC 4827 §5).
type pidfUsage struct{}

func (pidfUsage) AUID() string                                    { return "pidf-manipulation" }
func (pidfUsage) MediaType() string                               { return "application/pidf+xml" }
func (pidfUsage) DefaultNamespace() string                        { return "urn:ietf:params:xml:ns:pidf" }
func (pidfUsage) Check(ctx context.Context, c ut.Candidate) error { return nil }
func (pidfUsage) AllowName(k ut.DocumentKey) error {
	if k.Global() || k.Name != "index" {
		return &ut.Conflict{Tag: "constraint-failure", Phrase: "only users/<XUI>/index"}
	}
	return nil
}

// capsUsage generates a global document.
type capsUsage struct{}

func (capsUsage) AUID() string                                    { return "xcap-caps" }
func (capsUsage) MediaType() string                               { return "application/xcap-caps+xml" }
func (capsUsage) DefaultNamespace() string                        { return "urn:ietf:params:xml:ns:xcap-caps" }
func (capsUsage) Check(ctx context.Context, c ut.Candidate) error { return nil }
func (capsUsage) Generate(ctx context.Context, k ut.DocumentKey, docs ut.DocumentReader) ([]byte, error) {
	if !k.Global() || k.Name != "index" {
		return nil, nil
	}
	return []byte(`<xcap-caps xmlns="urn:ietf:params:xml:ns:xcap-caps"><auids><auid>resource-lists</auid></auids></xcap-caps>`), nil
}

func testConfig() ut.Config {
	cfg := ut.DefaultConfig()
	cfg.TrustedProxies = []string{"127.0.0.1", "::1"}
	cfg.Admins = []string{"sip:admin@example.com"}
	return cfg
}

type env struct {
	t    testing.TB
	srv  *uttest.Server
	list *listUsage
}

func start(t testing.TB, cfg ut.Config) *env {
	lu := &listUsage{}
	return &env{t: t, list: lu, srv: uttest.Start(t, cfg, nil, []ut.AppUsage{lu, pidfUsage{}, capsUsage{}})}
}

type resp struct {
	status int
	hdr    http.Header
	body   string
}

// do sends method to the raw path below the root exactly as written (brackets and quotes
// unencoded if so written) as identity (asserted by the trusted proxy; "" for none).
func (e *env) do(method, path, who string, hdr map[string]string, body string) resp {
	e.t.Helper()
	return e.doURL(method, e.srv.Root+path, who, hdr, body)
}

func (e *env) doURL(method, full, who string, hdr map[string]string, body string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.HTTP.URL, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	raw := strings.TrimPrefix(full, e.srv.HTTP.URL)
	path, query, _ := strings.Cut(raw, "?")
	req.URL.Opaque = path
	req.URL.RawQuery = query
	if who != "" {
		req.Header.Set("X-3GPP-Asserted-Identity", `"`+who+`"`)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := e.srv.HTTP.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, hdr: res.Header, body: string(b)}
}

// handler-level request without the network (fuzz).
func serveDirect(h http.Handler, method, target, who, ctype, body string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://xcap.example.com/", strings.NewReader(body))
	req.RequestURI = target
	req.RemoteAddr = "127.0.0.1:40000"
	p, q, _ := strings.Cut(target, "?")
	req.URL.Path = p
	req.URL.RawPath = ""
	req.URL.RawQuery = q
	if who != "" {
		req.Header.Set("X-3GPP-Asserted-Identity", `"`+who+`"`)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func ct(t string) map[string]string { return map[string]string{"Content-Type": t} }

func (e *env) mustPut(path, ctype, body string, want int) resp {
	e.t.Helper()
	r := e.do("PUT", path, alice, ct(ctype), body)
	if r.status != want {
		e.t.Fatalf("PUT %s = %d %s, want %d", path, r.status, r.body, want)
	}
	return r
}

func (e *env) mustGet(path string, want int) resp {
	e.t.Helper()
	r := e.do("GET", path, alice, nil, "")
	if r.status != want {
		e.t.Fatalf("GET %s = %d %s, want %d", path, r.status, r.body, want)
	}
	return r
}
