package resourcelists

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/imsps/imsps/ut"
)

func newUsage(t testing.TB) *Usage {
	t.Helper()
	u, err := New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func candidate(body string) ut.Candidate {
	return ut.Candidate{Key: ut.DocumentKey{AUID: AUID, XUI: "sip:alice@example.com", Name: "index"}, Body: []byte(body)}
}

func doc(lists string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:ext">` + lists + `</resource-lists>`
}

func TestRegistration(t *testing.T) {
	u := newUsage(t)
	if u.AUID() != "resource-lists" || u.MediaType() != "application/resource-lists+xml" ||
		u.DefaultNamespace() != "urn:ietf:params:xml:ns:resource-lists" {
		t.Errorf("RFC 4826 §3.4.1/§3.4.2/§3.4.4: got %s %s %s", u.AUID(), u.MediaType(), u.DefaultNamespace())
	}
}

func TestCheckGolden(t *testing.T) {
	u := newUsage(t)
	for _, tc := range []struct {
		file    string
		wantTag string
	}{
		{"rfc4826-3.3.xml", ""},
		{"a8.2-1-put.xml", ""},
		{"a8.2-4-after-put.xml", ""},
		{"a8.2-8-get.xml", ""},
		{"a8.2-1-draft.xml", "schema-validation-error"},
	} {
		t.Run("RFC 4826 §3.2 and TS 24.141 A.8.2: "+tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			assertTag(t, u.Check(t.Context(), candidate(string(body))), tc.wantTag)
		})
	}
}

func TestCheck(t *testing.T) {
	u := newUsage(t)
	for _, tc := range []struct {
		name    string
		body    string
		wantTag string
		want    []ut.Exists
	}{
		{name: "RFC 4826 §3.1: empty resource-lists", body: doc(``)},
		{name: "RFC 4826 §3.1: extension elements and attributes of other namespaces", body: doc(
			`<list name="a" x:flag="1"><entry uri="sip:a@example.com"/><x:note>hi</x:note><entry uri="sip:b@example.com"/></list>`)},
		{name: "RFC 4826 §3.1: same URI in two different lists", body: doc(
			`<list name="a"><entry uri="sip:a@example.com"/></list><list name="b"><entry uri="sip:a@example.com"/></list>`)},
		{name: "RFC 4826 §3.1: lists without names", body: doc(`<list/><list/>`)},
		{name: "RFC 4826 §3.2: entry without uri", body: doc(`<list name="a"><entry/></list>`), wantTag: "schema-validation-error"},
		{name: "RFC 4826 §3.2: unknown element of the namespace", body: doc(`<list name="a"><member uri="sip:a@example.com"/></list>`), wantTag: "schema-validation-error"},
		{name: "RFC 4826 §3.2: display-name after entries", body: doc(`<list name="a"><entry uri="sip:a@b"/><display-name>A</display-name></list>`), wantTag: "schema-validation-error"},
		{name: "RFC 4826 §3.2: unqualified unknown attribute", body: doc(`<list name="a" color="red"/>`), wantTag: "schema-validation-error"},
		{name: "RFC 4826 §3.2: bad xml:lang", body: doc(`<list name="a"><display-name xml:lang="not a tag">A</display-name></list>`), wantTag: "schema-validation-error"},
		{name: "RFC 4826 §3.4.4: wrong root namespace", body: `<resource-lists xmlns="urn:example:other"/>`, wantTag: "schema-validation-error"},
		{name: "RFC 4825 §11: not well-formed", body: `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>`, wantTag: "not-well-formed"},
		{name: "RFC 4825 §11: empty body", body: ``, wantTag: "not-well-formed"},
		{name: "RFC 4825 §11: not UTF-8", body: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><list name=\"caf\xe9\"/></resource-lists>", wantTag: "not-utf-8"},
		{name: "RFC 4826 §3.4.5: list names unique among siblings", body: doc(
			`<list name="friends"/><list name="friends-2"/><list name="friends"/>`), wantTag: "uniqueness-failure",
			want: []ut.Exists{{Field: "resource-lists/list/@name", AltValues: []string{"friends-3", "friends-4", "friends-5"}}}},
		{name: "RFC 4826 §3.4.5: nested list names unique among siblings", body: doc(
			`<list name="a"><list name="b"/><entry uri="sip:x@y"/><list name="b"/></list>`), wantTag: "uniqueness-failure",
			want: []ut.Exists{{Field: `resource-lists/list[@name="a"]/list/@name`, AltValues: []string{"b-2", "b-3", "b-4"}}}},
		{name: "RFC 4826 §3.4.5: entry uri unique within a list", body: doc(
			`<list name="a"><entry uri="sip:bob@example.com"/><entry uri="sip:bob@example.com"/></list>`), wantTag: "uniqueness-failure",
			want: []ut.Exists{{Field: `resource-lists/list[@name="a"]/entry/@uri`}}},
		{name: "RFC 4826 §3.4.5: entry uri unique by URI equivalence (host case, %-encoding)", body: doc(
			`<list name="a"><entry uri="sip:bob@Example.COM"/><entry uri="sip:b%6Fb@example.com"/></list>`), wantTag: "uniqueness-failure",
			want: []ut.Exists{{Field: `resource-lists/list[@name="a"]/entry/@uri`}}},
		{name: "RFC 4826 §3.4.5: tel URIs ignore visual separators", body: doc(
			`<list name="a"><entry uri="tel:+1-201-555-0123"/><entry uri="tel:+12015550123"/></list>`), wantTag: "uniqueness-failure",
			want: []ut.Exists{{Field: `resource-lists/list[@name="a"]/entry/@uri`}}},
		{name: "RFC 4826 §3.4.5: SIP user part is case-sensitive", body: doc(
			`<list name="a"><entry uri="sip:bob@example.com"/><entry uri="sip:Bob@example.com"/></list>`)},
		{name: "RFC 4826 §3.4.5: entry-ref ref unique within a list", body: doc(
			`<list name="a"><entry-ref ref="resource-lists/users/sip:b@x/index/~~/resource-lists/list/entry"/><entry-ref ref="resource-lists/users/sip:b@x/index/~~/resource-lists/list/entry"/></list>`),
			wantTag: "uniqueness-failure", want: []ut.Exists{{Field: `resource-lists/list[@name="a"]/entry-ref/@ref`}}},
		{name: "RFC 4826 §3.4.5: external anchor unique within a list", body: doc(
			`<list name="a"><external anchor="http://x.example/resource-lists/users/u/index/~~/resource-lists/list"/><external anchor="http://X.example/resource-lists/users/u/index/~~/resource-lists/list"/></list>`),
			wantTag: "uniqueness-failure", want: []ut.Exists{{Field: `resource-lists/list[@name="a"]/external/@anchor`}}},
		{name: "RFC 4826 §3.4.5: two failures, two exists", body: doc(
			`<list name="a"/><list name="a"><entry uri="sip:a@b"/><entry uri="sip:a@b"/></list>`), wantTag: "uniqueness-failure",
			want: []ut.Exists{{Field: "resource-lists/list/@name", AltValues: []string{"a-2", "a-3", "a-4"}}, {Field: `resource-lists/list[2]/entry/@uri`}}},
		{name: "RFC 4826 §3.4.5: entry-ref must be relative", body: doc(
			`<list name="a"><entry-ref ref="http://xcap.example.com/resource-lists/users/u/index/~~/resource-lists/list/entry"/></list>`), wantTag: "constraint-failure"},
		{name: "RFC 4826 §3.4.5: entry-ref must point into resource-lists", body: doc(
			`<list name="a"><entry-ref ref="pres-rules/users/u/index"/></list>`), wantTag: "constraint-failure"},
		{name: "RFC 4826 §3.4.5: external anchor must be an absolute HTTP URI", body: doc(
			`<list name="a"><external anchor="resource-lists/users/u/index/~~/resource-lists/list"/></list>`), wantTag: "constraint-failure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := u.Check(t.Context(), candidate(tc.body))
			assertTag(t, err, tc.wantTag)
			if tc.want != nil {
				var c *ut.Conflict
				errors.As(err, &c)
				if !reflect.DeepEqual(c.Exists, tc.want) {
					t.Errorf("exists = %#v, want %#v", c.Exists, tc.want)
				}
			}
		})
	}
}

func assertTag(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("Check = %v, want nil", err)
		}
		return
	}
	var c *ut.Conflict
	if !errors.As(err, &c) {
		t.Fatalf("Check = %v, want *ut.Conflict %s", err, want)
	}
	if c.Tag != want {
		t.Fatalf("Check = %v, want tag %s", err, want)
	}
}

func TestURIKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"SIP:bob@EXAMPLE.com", "sip:bob@example.com"},
		{"sip:%62ob@example.com", "sip:bob@example.com"},
		{"tel:+1-(201)-555.0123", "tel:+12015550123"},
		{"HTTP://Xcap.Example.com/a/B", "http://xcap.example.com/a/B"},
		{"sip:a%2fb@x", "sip:a%2Fb@x"},
	} {
		if URIKey(tc.a) != URIKey(tc.b) {
			t.Errorf("RFC 3986 §6.2.2: URIKey(%q)=%q != URIKey(%q)=%q", tc.a, URIKey(tc.a), tc.b, URIKey(tc.b))
		}
	}
	if URIKey("sip:Bob@x") == URIKey("sip:bob@x") {
		t.Error("RFC 3261 §19.1.4: user part must stay case-sensitive")
	}
}

func FuzzCheck(f *testing.F) {
	for _, name := range []string{"rfc4826-3.3.xml", "a8.2-1-put.xml", "a8.2-1-draft.xml"} {
		body, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Add([]byte(doc(`<list name="a"><list name="a"/><entry uri="sip:a@b"/><entry uri="SIP:a@B"/></list><list name="a"/>`)))
	f.Add([]byte(doc(`<list name="a"><entry-ref ref="http://x"/><external anchor="y"/></list>`)))
	u := newUsage(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		err := u.Check(t.Context(), ut.Candidate{Key: ut.DocumentKey{AUID: AUID, XUI: "sip:a@b", Name: "index"}, Body: body})
		var c *ut.Conflict
		if err != nil && !errors.As(err, &c) {
			t.Fatalf("Check = %v: every refusal must be an RFC 4825 §11 conflict", err)
		}
		if c != nil && c.Tag == "uniqueness-failure" && len(c.Exists) == 0 {
			t.Fatal("uniqueness-failure without <exists>")
		}
	})
}

// list20 is a 20-entry resource list, the size of the PUT benchmark of the XCAP server.
func list20() []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">` + "\n  <list name=\"friends\">\n")
	for i := range 20 {
		fmt.Fprintf(&b, "    <entry uri=\"sip:user%d@example.com\">\n      <display-name>User %d</display-name>\n    </entry>\n", i, i)
	}
	b.WriteString("  </list>\n</resource-lists>\n")
	return []byte(b.String())
}

func BenchmarkCheck20Entries(b *testing.B) {
	u := newUsage(b)
	c := ut.Candidate{Key: ut.DocumentKey{AUID: AUID, XUI: "sip:alice@example.com", Name: "index"}, Body: list20()}
	b.SetBytes(int64(len(c.Body)))
	for b.Loop() {
		if err := u.Check(b.Context(), c); err != nil {
			b.Fatal(err)
		}
	}
}
