package ut_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/imsps/imsps/ut"
	"github.com/imsps/imsps/ut/auid/pidfmanip"
	"github.com/imsps/imsps/ut/auid/presrules"
	"github.com/imsps/imsps/ut/auid/resourcelists"
	"github.com/imsps/imsps/ut/auid/xcapcaps"
	"github.com/imsps/imsps/ut/auid/xcapdirectory"
	"github.com/imsps/imsps/ut/uttest"
)

func testdata(t *testing.T, auid, name string) string {
	t.Helper()
	b, err := os.ReadFile("auid/" + auid + "/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type hardState struct {
	mu   sync.Mutex
	docs []string
}

func (h *hardState) set(ctx context.Context, xui string, body []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := "deleted"
	if body != nil {
		s = string(body)
	}
	h.docs = append(h.docs, xui+" "+s)
	return nil
}

// startSeeds runs the engine with the real application usages of ut/auid.
func startSeeds(t *testing.T) (*env, *hardState) {
	ctx := t.Context()
	rl, err := resourcelists.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hs := &hardState{}
	pm, err := pidfmanip.New(ctx, hs.set, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	pr, err := presrules.New(ctx, presrules.AUID)
	if err != nil {
		t.Fatal(err)
	}
	srv := uttest.Start(t, testConfig(), nil, []ut.AppUsage{rl, pm, pr})
	return &env{t: t, srv: srv}, hs
}

type step struct {
	name, method, path, ctype, body string
	status                          int
	wantBody                        string // checked when not ""
	wantType                        string
}

func runSteps(t *testing.T, e *env, steps []step) {
	t.Helper()
	for _, s := range steps {
		r := e.do(s.method, s.path, alice, ct(s.ctype), s.body)
		if r.status != s.status {
			t.Fatalf("%s: %s %s = %d %s, want %d", s.name, s.method, s.path, r.status, r.body, s.status)
		}
		if s.wantBody != "" && r.body != s.wantBody {
			t.Fatalf("%s: body\n%s\nwant\n%s", s.name, r.body, s.wantBody)
		}
		if s.wantType != "" && r.hdr.Get("Content-Type") != s.wantType {
			t.Fatalf("%s: content type %q, want %q", s.name, r.hdr.Get("Content-Type"), s.wantType)
		}
	}
}

// TS 24.141 A.8.2 in RFC 4825 syntax: create a resource list, add an entry, delete the
// first entry, fetch the result.
func TestSeedA82ResourceLists(t *testing.T) {
	e, _ := startSeeds(t)
	const doc = "/resource-lists/users/sip:alice@example.com/index"
	list := doc + `/~~/resource-lists/list[@name="Presence_fellows"]`
	runSteps(t, e, []step{
		{"A.8.2-1/2: PUT the list, 201", "PUT", doc, rlType, testdata(t, "resourcelists", "a8.2-1-put.xml"), 201, "", ""},
		{"A.8.2-1: the draft-era document fails the RFC 4826 schema", "PUT", "/resource-lists/users/sip:alice@example.com/draft",
			rlType, testdata(t, "resourcelists", "a8.2-1-draft.xml"), 409, "", ""},
		{"A.8.2-3/4: PUT a new entry (unencoded brackets), 201", "PUT", list + `/entry[@uri="sip:user3_public1@home3.net"]`,
			elType, testdata(t, "resourcelists", "a8.2-3-entry.xml"), 201, "", ""},
		{"A.8.2-4: document after the insertion", "GET", doc, "", "", 200, testdata(t, "resourcelists", "a8.2-4-after-put.xml"), rlType},
		{"RFC4826 §3.4.5: a second entry with the same URI is a uniqueness failure", "PUT", list + `/entry[3]`,
			elType, `<entry uri="sip:user3_public1@home3.net"/>`, 409, "", ""},
		{"A.8.2-5/6: DELETE the user2 entry (encoded selector), 200", "DELETE",
			doc + `/~~/resource-lists/list%5B@name=%22Presence_fellows%22%5D/entry%5B@uri=%22sip:user2_public1@home2.net%22%5D`, "", "", 200, "", ""},
		{"A.8.2-7/8: GET the document", "GET", doc, "", "", 200, testdata(t, "resourcelists", "a8.2-8-get.xml"), rlType},
	})
}

// TS 24.141 A.8.3 in today's pres-rules form (RFC 5025).
func TestSeedA83PresRules(t *testing.T) {
	e, _ := startSeeds(t)
	const doc = "/pres-rules/users/sip:alice@example.com/index"
	const q = "?xmlns(cr=urn:ietf:params:xml:ns:common-policy)"
	runSteps(t, e, []step{
		{"A.8.3-1/2: PUT the rules, 201", "PUT", doc, "application/auth-policy+xml", testdata(t, "presrules", "a8.3-1-put.xml"), 201, "", ""},
		{"A.8.3-3/4: PUT the rule for user3, 201", "PUT", doc + `/~~/cr:ruleset/cr:rule[@id="dsffdsfrrr32423"]` + q,
			elType, testdata(t, "presrules", "a8.3-3-rule.xml"), 201, "", ""},
		{"A.8.3-4: document after the insertion", "GET", doc, "", "", 200, testdata(t, "presrules", "a8.3-4-after-put.xml"), ""},
		{"A.8.3-5/6: DELETE the rule for user2", "DELETE", doc + `/~~/cr:ruleset/cr:rule[@id="dsafa43232"]` + q, "", "", 200, "", ""},
		{"A.8.3-7/8: GET the document", "GET", doc, "", "", 200, testdata(t, "presrules", "a8.3-8-get.xml"), "application/auth-policy+xml"},
	})
}

// TS 24.141 A.8.4: a stored MIME object referenced from the pidf-manipulation document.
func TestSeedA84MIMEObjectAndPIDF(t *testing.T) {
	e, hs := startSeeds(t)
	const pic = "/mime-objects/users/sip:alice@example.com/pictureX"
	const doc = "/pidf-manipulation/users/sip:alice@example.com/index"
	picture := "\xff\xd8\xff\xe0JFIF picture X"
	put := testdata(t, "pidfmanip", "a8.4-3-put.xml")
	runSteps(t, e, []step{
		{"A.8.4-1/2: PUT the picture, 201", "PUT", pic, "image/jpeg", picture, 201, "", ""},
		{"A.8.4-3/4: PUT the presence document, 201", "PUT", doc, "application/pidf+xml", put, 201, "", ""},
		{"RFC4827 §5: only index in the users tree", "PUT", "/pidf-manipulation/users/sip:alice@example.com/pidf.xml", "application/pidf+xml", put, 409, "", ""},
		{"A.8.4-3: the draft-era document fails the PIDF schema", "PUT", doc, "application/pidf+xml", testdata(t, "pidfmanip", "a8.4-3-draft.xml"), 409, "", ""},
		{"A.8.4-5/6: GET the picture", "GET", pic, "", "", 200, picture, "image/jpeg"},
		{"A.8.4-7/8: PUT a new picture X, 200", "PUT", pic, "image/jpeg", picture + " v2", 200, "", ""},
		{"A.8.4-9/10: PUT the tuple without the picture, 200", "PUT", doc + `/~~/presence/tuple[@id='t432sd']`,
			elType, testdata(t, "pidfmanip", "a8.4-9-tuple.xml"), 200, "", ""},
		{"A.8.4-10: the document after the tuple PUT", "GET", doc, "", "", 200, testdata(t, "pidfmanip", "a8.4-10-after-put.xml"), "application/pidf+xml"},
		{"A.8.4-11/12: DELETE the picture, 200", "DELETE", pic, "", "", 200, "", ""},
		{"A.8.4-12: the picture is gone", "GET", pic, "", "", 404, "", ""},
	})
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if len(hs.docs) != 2 || !strings.HasPrefix(hs.docs[0], alice+" ") || strings.Contains(hs.docs[1], "pictureX") {
		t.Fatalf("RFC4827 §4: hard state given to the presence agent: %q", hs.docs)
	}
}

// OMA xcap-directory and RFC 4825 §12 xcap-caps, generated by the ut/auid usages from the
// engine's registry and store.
func TestGeneratedDocuments(t *testing.T) {
	ctx := t.Context()
	rl, err := resourcelists.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var usages []ut.AppUsage
	registry := func() []ut.AppUsage { return usages }
	caps, err := xcapcaps.New(ctx, registry)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := xcapdirectory.New(ctx, "", registry)
	if err != nil {
		t.Fatal(err)
	}
	usages = []ut.AppUsage{rl, caps, dir}
	e := &env{t: t, srv: uttest.Start(t, testConfig(), nil, usages)}
	put := e.mustPut(aliceDoc, rlType, testdata(t, "resourcelists", "a8.2-1-put.xml"), 201)
	etag := strings.Trim(put.hdr.Get("ETag"), `"`)
	r := e.mustGet("/org.openmobilealliance.xcap-directory/users/sip:alice@example.com/directory.xml", 200)
	if !strings.Contains(r.body, etag) || !strings.Contains(r.body, "resource-lists") {
		t.Fatalf("xcap-directory without the document's ETag %s:\n%s", etag, r.body)
	}
	if r := e.do("PUT", "/org.openmobilealliance.xcap-directory/users/sip:alice@example.com/directory.xml", alice, ct("application/vnd.oma.xcap-directory+xml"), "<x/>"); r.status != 405 || r.hdr.Get("Allow") != "GET" {
		t.Fatalf("OMA xcap-directory is read-only: %d %q", r.status, r.hdr.Get("Allow"))
	}
	if r := e.do("GET", "/org.openmobilealliance.xcap-directory/users/sip:bob@example.com/directory.xml", alice, nil, ""); r.status != 403 {
		t.Fatalf("RFC4825 §5.7: alice reading bob's directory: %d", r.status)
	}
	c := e.mustGet("/xcap-caps/global/index", 200)
	if !strings.Contains(c.body, "<auid>resource-lists</auid>") {
		t.Fatalf("RFC4825 §12: xcap-caps:\n%s", c.body)
	}
	if r := e.do("GET", "/xcap-caps/global/index", alice, map[string]string{"If-None-Match": c.hdr.Get("ETag")}, ""); r.status != 304 {
		t.Fatalf("RFC4825 §7.11: generated document ETag: %d", r.status)
	}
}
