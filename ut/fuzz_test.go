package ut_test

import (
	"strings"
	"testing"

	"github.com/imsps/imsps/as/astest"
	"github.com/imsps/imsps/ut"
)

// FuzzDocumentPUT puts a document, then an element at a node selector: a stored document
// comes back byte for byte, an accepted element comes back as sent, and a refused one
// leaves the document as it was (RFC 4825 §8.2).
func FuzzDocumentPUT(f *testing.F) {
	f.Add(insertDoc, `root/el1[@att="third"]`, `<el1 att="third"/>`)
	f.Add(insertDoc, `root/*[2]`, `<x xmlns="urn:other"/>`)
	f.Add(selectorDocForFuzz, `resource-lists/list[1]/entry[2]`, `<entry uri="sip:z@example.com"/>`)
	f.Add(`<a xmlns="urn:ietf:params:xml:ns:resource-lists"><b/></a>`, `a/b/@c`, `<c/>`)
	f.Add(`<?xml version="1.0"?><a xmlns="urn:ietf:params:xml:ns:resource-lists"/>`, `a/b`, `<?xml version="1.0"?><b>&amp;</b>`)
	srv, err := ut.New(testConfig(), astest.NewStore(), []ut.AppUsage{&listUsage{}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	h := srv.AssertedHandler()
	const doc = "/xcap-root/resource-lists/users/sip:alice@example.com/index"
	f.Fuzz(func(t *testing.T, body, sel, frag string) {
		defer serveDirect(h, "DELETE", doc, alice, "", "", nil)
		rec := serveDirect(h, "PUT", doc, alice, rlType, body, nil)
		if rec.Code >= 300 {
			return
		}
		got := serveDirect(h, "GET", doc, alice, "", "", nil)
		if got.Body.String() != body {
			t.Fatalf("document GET %q, PUT %q", got.Body.String(), body)
		}
		if strings.ContainsAny(sel, "?#") {
			return
		}
		target := doc + "/~~/" + sel
		rec = serveDirect(h, "PUT", target, alice, elType, frag, nil)
		after := serveDirect(h, "GET", doc, alice, "", "", nil).Body.String()
		switch {
		case rec.Code == 200 || rec.Code == 201:
			want := strings.TrimSpace(frag)
			if strings.HasPrefix(want, "<?xml") {
				want = strings.TrimSpace(want[strings.Index(want, "?>")+2:])
			}
			if g := serveDirect(h, "GET", target, alice, "", "", nil); g.Code != 200 || g.Body.String() != want {
				t.Fatalf("element GET after PUT %s: %d %q, want %q", target, g.Code, g.Body.String(), want)
			}
			if r := serveDirect(h, "PUT", doc, alice, rlType, after, nil); r.Code != 200 {
				t.Fatalf("document after element PUT is not acceptable: %d %s\n%s", r.Code, r.Body.String(), after)
			}
		default:
			if after != body {
				t.Fatalf("refused PUT (%d) changed the document:\n%q\n%q", rec.Code, body, after)
			}
		}
		// RFC 4825 §8.3: after a DELETE the URI selects nothing; a refused one changes nothing.
		rec = serveDirect(h, "DELETE", target, alice, "", "", nil)
		final := serveDirect(h, "GET", doc, alice, "", "", nil).Body.String()
		switch rec.Code {
		case 200:
			if g := serveDirect(h, "GET", target, alice, "", "", nil); g.Code != 404 {
				t.Fatalf("GET after DELETE %s: %d %q", target, g.Code, g.Body.String())
			}
			if r := serveDirect(h, "PUT", doc, alice, rlType, final, nil); r.Code != 200 {
				t.Fatalf("document after DELETE is not acceptable: %d %s\n%s", r.Code, r.Body.String(), final)
			}
		default:
			if final != after {
				t.Fatalf("refused DELETE (%d) changed the document", rec.Code)
			}
		}
	})
}

const selectorDocForFuzz = `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:cp="urn:example:ext">
  <list name="friends">
    <entry uri="sip:bob@example.com"><display-name xml:lang="en">Bob</display-name></entry>
    <entry uri='sip:carol@example.com' cp:flag="x"/>
  </list>
</resource-lists>`
