package ut_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/imsps/imsps/ut"
)

const aliceDoc = "/resource-lists/users/sip:alice@example.com/index"

const insertDoc = `<?xml version="1.0" encoding="UTF-8"?>
<root xmlns="urn:ietf:params:xml:ns:resource-lists">
  <el1 att="first"/>
  <el1 att="second"/>
  <!-- comment -->
  <el2 att='first'/>
</root>
`

// TestPut checks element and attribute PUT (RFC 4825 §8.2) on a fresh copy of insertDoc
// each time: status, the resulting document bytes, and the 409 condition.
func TestPut(t *testing.T) {
	tests := []struct {
		name     string
		sel      string
		ctype    string
		body     string
		status   int
		wantDoc  string // "" to skip
		conflict string
	}{
		{name: "RFC4825 §8.2.3: new element goes after the last sibling with the same name",
			sel: `root/el1[@att="third"]`, ctype: elType, body: `<el1 att="third"/>`, status: 201,
			wantDoc: strings.Replace(insertDoc, `<el1 att="second"/>`, `<el1 att="second"/>`+"\n  "+`<el1 att="third"/>`, 1)},
		{name: "RFC4825 §8.2.3: element with no same-named sibling goes after the last element",
			sel: `root/el3`, ctype: elType, body: `<el3/>`, status: 201,
			wantDoc: strings.Replace(insertDoc, `<el2 att='first'/>`, `<el2 att='first'/>`+"\n  <el3/>", 1)},
		{name: "RFC4825 §8.2.3: position n+1 goes after the n-th same-named sibling",
			sel: `root/el1[3]`, ctype: elType, body: `<el1 att="x"/>`, status: 201,
			wantDoc: strings.Replace(insertDoc, `<el1 att="second"/>`, `<el1 att="second"/>`+"\n  "+`<el1 att="x"/>`, 1)},
		{name: "RFC4825 §8.2.3: *[3] goes after the second element, before the comment",
			sel: `root/*[3][@att="third"]`, ctype: elType, body: `<el1 att="third"/>`, status: 201,
			wantDoc: strings.Replace(insertDoc, `<el1 att="second"/>`, `<el1 att="second"/>`+"\n  "+`<el1 att="third"/>`, 1)},
		{name: "RFC4825 §8.2.3: el2[1] with a non-matching first el2 goes before it",
			sel: `root/el2[1][@att="2"]`, ctype: elType, body: `<el2 att="2"/>`, status: 201,
			wantDoc: strings.Replace(insertDoc, `<el2 att='first'/>`, `<el2 att="2"/>`+"\n  "+`<el2 att='first'/>`, 1)},
		{name: "RFC4825 §8.2.3: *[@att] uses the body's name: after the last el1",
			sel: `root/*[@att="2"]`, ctype: elType, body: `<el1 att="2"/>`, status: 201,
			wantDoc: strings.Replace(insertDoc, `<el1 att="second"/>`, `<el1 att="second"/>`+"\n  "+`<el1 att="2"/>`, 1)},
		{name: "RFC4825 §8.2.3: *[@att] with a new name goes after the last element",
			sel: `root/*[@att="2"]`, ctype: elType, body: `<el3 att="2"/>`, status: 201,
			wantDoc: strings.Replace(insertDoc, `<el2 att='first'/>`, `<el2 att='first'/>`+"\n  "+`<el3 att="2"/>`, 1)},
		{name: "RFC4825 §8.2.4: replacing el1[@att=first] by an element the URI would not select is cannot-insert",
			sel: `root/el1[@att="first"]`, ctype: elType, body: `<el1 att="third"/>`, status: 409, conflict: "cannot-insert"},
		{name: "RFC4825 §8.2.4: *[1] replaces the first element",
			sel: `root/*[1]`, ctype: elType, body: `<el1 att="third"/>`, status: 200,
			wantDoc: strings.Replace(insertDoc, `<el1 att="first"/>`, `<el1 att="third"/>`, 1)},
		{name: "RFC4825 §6.3: [0] is valid syntax that selects nothing: cannot-insert",
			sel: `root/*[0][@att="third"]`, ctype: elType, body: `<el1 att="third"/>`, status: 409, conflict: "cannot-insert"},
		{name: "RFC4825 §8.2.3: position beyond n+1 cannot be inserted",
			sel: `root/el1[4]`, ctype: elType, body: `<el1 att="x"/>`, status: 409, conflict: "cannot-insert"},
		{name: "RFC4825 §8.2.3: wildcard position inserts before the n-th element when that one does not match",
			sel: `root/*[2][@att="new"]`, ctype: elType, body: `<el9 att="new"/>`, status: 201,
			wantDoc: strings.Replace(insertDoc, `<el1 att="second"/>`, `<el9 att="new"/>`+"\n  "+`<el1 att="second"/>`, 1)},
		{name: "RFC4825 §8.2.3: into an empty element written <x/>",
			sel: `root/el2/child`, ctype: elType, body: `<child>t</child>`, status: 201,
			wantDoc: strings.Replace(insertDoc, `<el2 att='first'/>`, `<el2 att='first'><child>t</child></el2>`, 1)},
		{name: "RFC4825 §8.2.3: an XML declaration in the element body is dropped",
			sel: `root/el3`, ctype: elType, body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n  <el3 a=\"1\"/>\n", status: 201,
			wantDoc: strings.Replace(insertDoc, `<el2 att='first'/>`, `<el2 att='first'/>`+"\n  "+`<el3 a="1"/>`, 1)},
		{name: "RFC4825 §8.2.4: replace an element by position",
			sel: `root/el1[2]`, ctype: elType, body: `<el1 att="2nd"  b="x"></el1>`, status: 200,
			wantDoc: strings.Replace(insertDoc, `<el1 att="second"/>`, `<el1 att="2nd"  b="x"></el1>`, 1)},
		{name: "RFC4825 §8.2.4: replacement the URI would not select is cannot-insert",
			sel: `root/el2[@att="first"]`, ctype: elType, body: `<el2 att="other"/>`, status: 409, conflict: "cannot-insert"},
		{name: "RFC4825 §8.2.3: element name differing from the last step is cannot-insert",
			sel: `root/el1[@att="third"]`, ctype: elType, body: `<el2 att="third"/>`, status: 409, conflict: "cannot-insert"},
		{name: "RFC4825 §8.2.3: element in another namespace than the step is cannot-insert",
			sel: `root/el3`, ctype: elType, body: `<el3 xmlns="urn:other"/>`, status: 409, conflict: "cannot-insert"},
		{name: "RFC4825 §8.2.1: missing parent is no-parent with the closest ancestor",
			sel: `root/el4/child`, ctype: elType, body: `<child/>`, status: 409, conflict: "no-parent"},
		{name: "RFC4825 §8.2.2: two elements are not-xml-frag",
			sel: `root/el3`, ctype: elType, body: `<el3/><el3/>`, status: 409, conflict: "not-xml-frag"},
		{name: "RFC4825 §8.2.2: unclosed element is not-xml-frag",
			sel: `root/el3`, ctype: elType, body: `<el3>`, status: 409, conflict: "not-xml-frag"},
		{name: "RFC4825 §8.2.2: undeclared prefix is not-xml-frag",
			sel: `root/el3`, ctype: elType, body: `<el3 q:a="1"/>`, status: 409, conflict: "not-xml-frag"},
		{name: "RFC4825 §8.2.2: Latin-1 element body is not-utf-8",
			sel: `root/el3`, ctype: elType, body: "<el3>caf\xe9</el3>", status: 409, conflict: "not-utf-8"},
		{name: "RFC4825 §8.2.2: wrong content type for an element is 415",
			sel: `root/el3`, ctype: "application/xml", body: `<el3/>`, status: 415},
		{name: "RFC4825 §8.2.4: replace an attribute value, quotes kept",
			sel: `root/el2/@att`, ctype: attType, body: `changed`, status: 200,
			wantDoc: strings.Replace(insertDoc, `<el2 att='first'/>`, `<el2 att='changed'/>`, 1)},
		{name: "RFC4825 §8.2.3: create an attribute",
			sel: `root/el1[1]/@new`, ctype: attType, body: `v&amp;w`, status: 201,
			wantDoc: strings.Replace(insertDoc, `<el1 att="first"/>`, `<el1 att="first" new="v&amp;w"/>`, 1)},
		{name: "RFC4825 §8.2.3: create a namespaced attribute declares its prefix",
			sel: `root/el1[1]/@x:new?xmlns(x=urn:example:x)`, ctype: attType, body: `v`, status: 201,
			wantDoc: strings.Replace(insertDoc, `<el1 att="first"/>`, `<el1 att="first" xmlns:x="urn:example:x" x:new="v"/>`, 1)},
		{name: "RFC4825 §8.2.2: '<' in an attribute value is not-xml-att-value",
			sel: `root/el2/@att`, ctype: attType, body: `a<b`, status: 409, conflict: "not-xml-att-value"},
		{name: "RFC4825 §8.2.2: bare '&' in an attribute value is not-xml-att-value",
			sel: `root/el2/@att`, ctype: attType, body: `a&b`, status: 409, conflict: "not-xml-att-value"},
		{name: "RFC4825 §8.2.4: attribute value holding the current quote switches quotes",
			sel: `root/el2/@att`, ctype: attType, body: `it's`, status: 200,
			wantDoc: strings.Replace(insertDoc, `<el2 att='first'/>`, `<el2 att="it's"/>`, 1)},
		{name: "RFC4825 §8.2.2: wrong content type for an attribute is 415",
			sel: `root/el2/@att`, ctype: elType, body: `x`, status: 415},
		{name: "RFC4825 §8.2.1: attribute of a missing element is no-parent",
			sel: `root/el5/@att`, ctype: attType, body: `x`, status: 409, conflict: "no-parent"},
		{name: "RFC4825 §7.3: PUT of namespace bindings is 405",
			sel: `root/namespace::*`, ctype: elType, body: `<x/>`, status: 405},
		{name: "RFC4825 §8.2.3: a second root element cannot be inserted",
			sel: `other`, ctype: elType, body: `<other/>`, status: 409, conflict: "cannot-insert"},
		{name: "RFC4825 §8.2.4: replace the root element",
			sel: `root`, ctype: elType, body: `<root xmlns="urn:ietf:params:xml:ns:resource-lists"/>`, status: 200,
			wantDoc: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<root xmlns=\"urn:ietf:params:xml:ns:resource-lists\"/>\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, testConfig())
			e.mustPut(aliceDoc, rlType, insertDoc, 201)
			r := e.do("PUT", aliceDoc+"/~~/"+tc.sel, alice, ct(tc.ctype), tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.conflict != "" {
				if r.hdr.Get("Content-Type") != "application/xcap-error+xml" || !strings.Contains(r.body, "<"+tc.conflict) ||
					!strings.Contains(r.body, `xmlns="urn:ietf:params:xml:ns:xcap-error"`) {
					t.Fatalf("409 body %s %q, want <%s>", r.hdr.Get("Content-Type"), r.body, tc.conflict)
				}
			}
			doc := e.mustGet(aliceDoc, 200)
			if tc.wantDoc != "" && doc.body != tc.wantDoc {
				t.Fatalf("document now\n%s\nwant\n%s", doc.body, tc.wantDoc)
			}
			if tc.status >= 300 && doc.body != insertDoc {
				t.Fatalf("failed PUT changed the document:\n%s", doc.body)
			}
			if tc.status < 300 {
				// RFC 4825 §8.2.3/§7.4: a GET of the same URI returns what was PUT.
				g := e.mustGet(aliceDoc+"/~~/"+tc.sel, 200)
				want := strings.TrimSpace(tc.body)
				if i := strings.Index(want, "?>"); strings.HasPrefix(want, "<?xml") && i > 0 {
					want = strings.TrimSpace(want[i+2:])
				}
				if g.body != want || g.hdr.Get("Content-Type") != tc.ctype {
					t.Fatalf("GET after PUT = %s %q, want %s %q", g.hdr.Get("Content-Type"), g.body, tc.ctype, want)
				}
				if g.hdr.Get("ETag") != r.hdr.Get("ETag") || r.hdr.Get("ETag") == "" {
					t.Fatalf("ETag after PUT %q, GET %q", r.hdr.Get("ETag"), g.hdr.Get("ETag"))
				}
			}
		})
	}
}

func TestNoParentAncestor(t *testing.T) {
	e := start(t, testConfig())
	e.mustPut(aliceDoc, rlType, insertDoc, 201)
	tests := []struct{ name, path, ancestor string }{
		{"RFC4825 §8.2.1: ancestor is the deepest existing element", aliceDoc + `/~~/root/el2/a/b`,
			aliceDoc + `/~~/root/el2`},
		{"RFC4825 §8.2.1: ancestor of an element of a missing document is the user's folder",
			"/resource-lists/users/sip:alice@example.com/nodoc/~~/root/el1", "/resource-lists/users/sip:alice@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("PUT", tc.path, alice, ct(elType), `<b/>`)
			want := "<ancestor>" + e.srv.Root + tc.ancestor + "</ancestor>"
			if r.status != 409 || !strings.Contains(r.body, want) {
				t.Fatalf("%d %s, want 409 with %s", r.status, r.body, want)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name     string
		sel      string
		status   int
		wantDoc  string
		conflict string
	}{
		{name: "RFC4825 §8.3: delete an element with its indentation", sel: `root/el1[@att="first"]`, status: 200,
			wantDoc: strings.Replace(insertDoc, "\n  <el1 att=\"first\"/>", "", 1)},
		{name: "RFC4825 §8.3: delete an attribute", sel: `root/el2/@att`, status: 200,
			wantDoc: strings.Replace(insertDoc, `<el2 att='first'/>`, `<el2/>`, 1)},
		{name: "RFC4825 §8.3: deleting el1[1] would select el1[2] next: cannot-delete", sel: `root/el1[1]`, status: 409, conflict: "cannot-delete"},
		{name: "RFC4825 §8.3: deleting *[1] would select the next element: cannot-delete", sel: `root/*[1]`, status: 409, conflict: "cannot-delete"},
		{name: "RFC4825 §8.3: the document element cannot be deleted", sel: `root`, status: 409, conflict: "cannot-delete"},
		{name: "RFC4825 §8.3: nothing selected is 404", sel: `root/el7`, status: 404},
		{name: "RFC4825 §8.3: missing attribute is 404", sel: `root/el2/@nope`, status: 404},
		{name: "RFC4825 §8.3: ambiguous selection is 404", sel: `root/el1`, status: 404},
		{name: "RFC4825 §7.3: DELETE of namespace bindings is 405", sel: `root/namespace::*`, status: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, testConfig())
			put := e.mustPut(aliceDoc, rlType, insertDoc, 201)
			r := e.do("DELETE", aliceDoc+"/~~/"+tc.sel, alice, nil, "")
			if r.status != tc.status {
				t.Fatalf("status %d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.status == 405 && r.hdr.Get("Allow") != "GET" {
				t.Fatalf("Allow %q", r.hdr.Get("Allow"))
			}
			if tc.conflict != "" && !strings.Contains(r.body, "<"+tc.conflict) {
				t.Fatalf("body %q, want %s", r.body, tc.conflict)
			}
			doc := e.mustGet(aliceDoc, 200)
			if tc.wantDoc != "" && doc.body != tc.wantDoc {
				t.Fatalf("document now\n%q\nwant\n%q", doc.body, tc.wantDoc)
			}
			if tc.status == 200 {
				e.mustGet(aliceDoc+"/~~/"+tc.sel, 404)
				if r.hdr.Get("ETag") == "" || r.hdr.Get("ETag") == put.hdr.Get("ETag") {
					t.Fatalf("ETag %q after DELETE, was %q", r.hdr.Get("ETag"), put.hdr.Get("ETag"))
				}
			} else if doc.body != insertDoc {
				t.Fatalf("failed DELETE changed the document")
			}
		})
	}
	t.Run("RFC4825 §8.3: delete a document", func(t *testing.T) {
		e := start(t, testConfig())
		e.mustPut(aliceDoc, rlType, insertDoc, 201)
		if r := e.do("DELETE", aliceDoc, alice, nil, ""); r.status != 200 {
			t.Fatalf("%d", r.status)
		}
		e.mustGet(aliceDoc, 404)
		if r := e.do("DELETE", aliceDoc, alice, nil, ""); r.status != 404 {
			t.Fatalf("second DELETE %d", r.status)
		}
		e.list.mu.Lock()
		defer e.list.mu.Unlock()
		if n := len(e.list.changes); n != 2 || e.list.changes[1] != alice+"/index=deleted" {
			t.Fatalf("Changed calls %q", e.list.changes)
		}
	})
}

func TestGet(t *testing.T) {
	e := start(t, testConfig())
	e.mustPut(aliceDoc, rlType, insertDoc, 201)
	tests := []struct {
		name, path string
		status     int
		ctype      string
		body       string
	}{
		{"RFC4825 §8.4: document bytes as stored", aliceDoc, 200, rlType, insertDoc},
		{"RFC4825 §8.4: element source text", aliceDoc + `/~~/root/el2`, 200, elType, `<el2 att='first'/>`},
		{"RFC4825 §8.4: element by encoded selector", aliceDoc + `/~~/root/el1%5B@att=%22second%22%5D`, 200, elType, `<el1 att="second"/>`},
		{"RFC4825 §8.4: attribute", aliceDoc + `/~~/root/el2/@att`, 200, attType, `first`},
		{"RFC4825 §7.3: namespace bindings", aliceDoc + `/~~/root/el2/namespace::*`, 200, "application/xcap-ns+xml",
			`<el2 xmlns="urn:ietf:params:xml:ns:resource-lists"/>`},
		{"RFC4825 §8.4: no such element is 404", aliceDoc + `/~~/root/el9`, 404, "", ""},
		{"RFC4825 §8.4: no such document is 404", "/resource-lists/users/sip:alice@example.com/other", 404, "", ""},
		{"RFC4825 §8.4: unknown AUID is 404", "/nope/users/sip:alice@example.com/index", 404, "", ""},
		{"RFC4825 §6.3: malformed node selector is 400", aliceDoc + `/~~/root/el1[`, 400, "", ""},
		{"RFC4825 §6.4: unbound prefix is 400", aliceDoc + `/~~/q:root`, 400, "", ""},
		{"RFC4825 §6: dot-dot is 400", "/resource-lists/users/sip:alice@example.com/../sip:bob@example.com/index", 400, "", ""},
		{"RFC4825 §5.1: generated global document", "/xcap-caps/global/index", 200, "application/xcap-caps+xml", ""},
		{"RFC4825 §8.4: element of a generated document", "/xcap-caps/global/index/~~/xcap-caps/auids/auid", 200, elType, "<auid>resource-lists</auid>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, alice, nil, "")
			if r.status != tc.status {
				t.Fatalf("status %d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.ctype != "" && r.hdr.Get("Content-Type") != tc.ctype {
				t.Errorf("content type %q, want %q", r.hdr.Get("Content-Type"), tc.ctype)
			}
			if tc.body != "" && r.body != tc.body {
				t.Errorf("body %q, want %q", r.body, tc.body)
			}
		})
	}
}

func TestMethods(t *testing.T) {
	e := start(t, testConfig())
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		allow                           string
	}{
		{"RFC4825 §8.5: POST is 405", "POST", aliceDoc, rlType, "<x/>", 405, "GET, PUT, DELETE"},
		{"RFC4825 §8.5: PATCH is 405", "PATCH", aliceDoc, rlType, "<x/>", 405, "GET, PUT, DELETE"},
		{"RFC4825 §5.1: a generated document is read-only", "PUT", "/xcap-caps/global/index", "application/xcap-caps+xml", "<x/>", 405, "GET"},
		{"RFC4827 §5: pidf-manipulation allows only index", "PUT", "/pidf-manipulation/users/sip:alice@example.com/other",
			"application/pidf+xml", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>`, 409, ""},
		{"RFC4825 §8.2.2: wrong document content type is 415", "PUT", aliceDoc, "application/xml", insertDoc, 415, ""},
		{"RFC4825 §8.2.2: malformed document is not-well-formed", "PUT", aliceDoc, rlType, "<root><a></root>", 409, ""},
		{"RFC4825 §8.2.2: declared ISO-8859-1 is not-utf-8", "PUT", aliceDoc, rlType, `<?xml version="1.0" encoding="ISO-8859-1"?><root/>`, 409, ""},
		{"RFC4825 §8.2.2: DTDs are refused", "PUT", aliceDoc, rlType, `<!DOCTYPE r [<!ENTITY a "b">]><root/>`, 409, ""},
		{"XML 1.0 §4.3.3: a UTF-8 byte order mark is accepted", "PUT", "/resource-lists/users/sip:alice@example.com/bom", rlType, "\xef\xbb\xbf<?xml version=\"1.0\"?><root xmlns=\"urn:ietf:params:xml:ns:resource-lists\"/>", 201, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, alice, ct(tc.ctype), tc.body)
			if r.status != tc.status || r.hdr.Get("Allow") != tc.allow {
				t.Fatalf("%d Allow %q %s, want %d Allow %q", r.status, r.hdr.Get("Allow"), r.body, tc.status, tc.allow)
			}
		})
	}
}

func TestConstraintConflict(t *testing.T) {
	e := start(t, testConfig())
	e.list.check = func(c ut.Candidate) error {
		if strings.Contains(string(c.Body), "dup") {
			return &ut.Conflict{Tag: "uniqueness-failure", Exists: []ut.Exists{{Field: "root/el1/@att", AltValues: []string{"dup1", "dup2"}}}}
		}
		return nil
	}
	e.mustPut(aliceDoc, rlType, insertDoc, 201)
	r := e.do("PUT", aliceDoc+"/~~/root/el1[3]", alice, ct(elType), `<el1 att="dup"/>`)
	want := `<uniqueness-failure>
    <exists field="root/el1/@att"><alt-value>dup1</alt-value><alt-value>dup2</alt-value></exists>
  </uniqueness-failure>`
	if r.status != 409 || !strings.Contains(r.body, want) {
		t.Fatalf("RFC4825 §11.2: %d\n%s", r.status, r.body)
	}
}

func TestConditional(t *testing.T) {
	tests := []struct {
		name   string
		method string
		sel    string
		hdr    func(etag string) map[string]string
		body   string
		status int
	}{
		{"RFC4825 §7.11: GET If-None-Match current is 304", "GET", "", func(et string) map[string]string { return map[string]string{"If-None-Match": et} }, "", 304},
		{"RFC4825 §7.11: GET If-None-Match * on an existing document is 304", "GET", "", func(string) map[string]string { return map[string]string{"If-None-Match": "*"} }, "", 304},
		{"RFC4825 §7.11: element GET If-None-Match document ETag is 304", "GET", "/~~/root/el2", func(et string) map[string]string { return map[string]string{"If-None-Match": et} }, "", 304},
		{"RFC4825 §7.11: GET If-Match stale is 412", "GET", "", func(string) map[string]string { return map[string]string{"If-Match": `"stale"`} }, "", 412},
		{"RFC4825 §7.11: GET If-Match current is 200", "GET", "", func(et string) map[string]string { return map[string]string{"If-Match": `"x", ` + et} }, "", 200},
		{"RFC4825 §7.11: PUT If-Match stale is 412", "PUT", "/~~/root/el3", func(string) map[string]string { return map[string]string{"If-Match": `"stale"`} }, "<el3/>", 412},
		{"RFC4825 §7.11: PUT If-Match current succeeds", "PUT", "/~~/root/el3", func(et string) map[string]string { return map[string]string{"If-Match": et} }, "<el3/>", 201},
		{"RFC4825 §7.11: PUT If-None-Match * on an existing document is 412", "PUT", "", func(string) map[string]string { return map[string]string{"If-None-Match": "*"} }, insertDoc, 412},
		{"RFC4825 §7.11: precondition before content checks (412, not 409)", "PUT", "/~~/root/el3", func(string) map[string]string { return map[string]string{"If-Match": `"stale"`} }, "<el3>", 412},
		{"RFC4825 §7.11: weak ETag never matches If-Match", "PUT", "/~~/root/el3", func(et string) map[string]string { return map[string]string{"If-Match": "W/" + et} }, "<el3/>", 412},
		{"RFC4825 §7.11: DELETE If-Match stale is 412", "DELETE", "/~~/root/el2", func(string) map[string]string { return map[string]string{"If-Match": `"stale"`} }, "", 412},
		{"RFC4825 §7.11: DELETE If-None-Match current is 412", "DELETE", "", func(et string) map[string]string { return map[string]string{"If-None-Match": et} }, "", 412},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, testConfig())
			etag := e.mustPut(aliceDoc, rlType, insertDoc, 201).hdr.Get("ETag")
			h := tc.hdr(etag)
			if tc.method == "PUT" {
				if tc.sel == "" {
					h["Content-Type"] = rlType
				} else {
					h["Content-Type"] = elType
				}
			}
			r := e.do(tc.method, aliceDoc+tc.sel, alice, h, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d %s, want %d", r.status, r.body, tc.status)
			}
		})
	}
	t.Run("RFC4825 §7.11: If-Match * on a missing document is 412", func(t *testing.T) {
		e := start(t, testConfig())
		r := e.do("PUT", aliceDoc, alice, map[string]string{"Content-Type": rlType, "If-Match": "*"}, insertDoc)
		if r.status != 412 {
			t.Fatalf("%d", r.status)
		}
		r = e.do("PUT", aliceDoc, alice, map[string]string{"Content-Type": rlType, "If-None-Match": "*"}, insertDoc)
		if r.status != 201 {
			t.Fatalf("If-None-Match * create: %d", r.status)
		}
	})
	t.Run("RFC4825 §8.5: a new ETag on every PUT, even with identical content", func(t *testing.T) {
		e := start(t, testConfig())
		a := e.mustPut(aliceDoc, rlType, insertDoc, 201).hdr.Get("ETag")
		b := e.mustPut(aliceDoc, rlType, insertDoc, 200).hdr.Get("ETag")
		if a == b || !strings.HasPrefix(a, `"`) {
			t.Fatalf("ETags %q %q", a, b)
		}
	})
	t.Run("RFC4825 §7.11: concurrent conditional writes: exactly one wins", func(t *testing.T) {
		e := start(t, testConfig())
		etag := e.mustPut(aliceDoc, rlType, insertDoc, 201).hdr.Get("ETag")
		const n = 20
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			wg.Go(func() {
				r := e.do("PUT", aliceDoc+"/~~/root/el2/@att", alice,
					map[string]string{"Content-Type": attType, "If-Match": etag}, "w"+string(rune('a'+i)))
				codes[i] = r.status
			})
		}
		wg.Wait()
		wins := 0
		for _, c := range codes {
			switch c {
			case 200:
				wins++
			case 412:
			default:
				t.Fatalf("unexpected status %d", c)
			}
		}
		if wins != 1 {
			t.Fatalf("%d writers won: %v", wins, codes)
		}
	})
}

func TestLimits(t *testing.T) {
	cfg := testConfig()
	cfg.MaxDocumentSize = 300
	cfg.MaxDocumentsPerUser = 2
	cfg.MIME.MaxSize = 10
	e := start(t, cfg)
	big := `<root xmlns="urn:ietf:params:xml:ns:resource-lists">` + strings.Repeat(" ", 300) + `</root>`
	tests := []struct {
		name, path, ctype, body string
		status                  int
	}{
		{"xcap.max_document_size: larger document is 413", aliceDoc, rlType, big, 413},
		{"first document", aliceDoc, rlType, `<root xmlns="urn:ietf:params:xml:ns:resource-lists"/>`, 201},
		{"xcap.max_document_size: element PUT growing the document past the limit is 413", aliceDoc + "/~~/root/a", elType, "<a>" + strings.Repeat("x", 250) + "</a>", 413},
		{"second document", "/resource-lists/users/sip:alice@example.com/two", rlType, `<root xmlns="urn:ietf:params:xml:ns:resource-lists"/>`, 201},
		{"xcap.max_documents_per_user: third document is 413", "/resource-lists/users/sip:alice@example.com/three", rlType, `<root xmlns="urn:ietf:params:xml:ns:resource-lists"/>`, 413},
		{"xcap.max_documents_per_user: replacing is fine", aliceDoc, rlType, `<root xmlns="urn:ietf:params:xml:ns:resource-lists"/>`, 200},
		{"xcap.mime.max_size: larger object is 413", "/mime-objects/users/sip:bob@example.com/pic", "image/jpeg", "01234567890", 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			who := alice
			if strings.Contains(tc.path, "bob") {
				who = bob
			}
			r := e.do("PUT", tc.path, who, ct(tc.ctype), tc.body)
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
		})
	}
}

func TestMIMEObjects(t *testing.T) {
	e := start(t, testConfig())
	const pic = "/mime-objects/users/sip:alice@example.com/photos/pictureX"
	jpeg := "\xff\xd8\xff\xe0 not really a jpeg \x00\x01"
	steps := []struct {
		name, method, ctype, body string
		status                    int
	}{
		{"TS24.141 §6.3.2.4 b: PUT to a new folder creates it: 201", "PUT", "image/jpeg", jpeg, 201},
		{"TS24.141 §6.3.2.4: GET returns the bytes and the content type", "GET", "", "", 200},
		{"TS24.141 §6.3.2.4 a: PUT replaces: 200", "PUT", "image/png", "png", 200},
		{"TS24.141 §6.3.2.4: DELETE", "DELETE", "", "", 200},
		{"TS24.141 §6.3.2.4: GET after DELETE is 404", "GET", "", "", 404},
	}
	for _, st := range steps {
		r := e.do(st.method, pic, alice, ct(st.ctype), st.body)
		if r.status != st.status {
			t.Fatalf("%s: %d %s", st.name, r.status, r.body)
		}
		if st.method == "GET" && st.status == 200 && (r.body != jpeg || r.hdr.Get("Content-Type") != "image/jpeg" || r.hdr.Get("ETag") == "") {
			t.Fatalf("%s: %q %q", st.name, r.hdr.Get("Content-Type"), r.body)
		}
	}
	if r := e.do("GET", pic, bob, nil, ""); r.status != 403 {
		t.Fatalf("RFC4825 §5.7: bob reading alice's object: %d", r.status)
	}
}

func TestTrees(t *testing.T) {
	e := start(t, testConfig())
	doc := `<root xmlns="urn:ietf:params:xml:ns:resource-lists"/>`
	tests := []struct {
		name, method, path, who string
		want                    int
	}{
		{"RFC4825 §5.7: an admin writes the global tree", "PUT", "/resource-lists/global/index", "sip:admin@example.com", 201},
		{"RFC4825 §5.7: a user reads the global tree", "GET", "/resource-lists/global/index", alice, 200},
		{"RFC4825 §5.7: a user cannot write it", "DELETE", "/resource-lists/global/index", alice, 403},
		{"RFC4825 §5.7: an admin writes a user's tree", "PUT", "/resource-lists/users/sip:bob@example.com/index", "sip:admin@example.com", 201},
		{"RFC3261 §19.1.4: the XUI's domain case does not make another tree", "GET", "/resource-lists/users/SIP:bob@EXAMPLE.com/index", bob, 200},
		{"RFC4825 §6: an encoded XUI names the same tree", "GET", "/resource-lists/users/sip%3Abob%40example.com/index", bob, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.do(tc.method, tc.path, tc.who, ct(rlType), doc); r.status != tc.want {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.want)
			}
		})
	}
}
