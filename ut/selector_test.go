package ut

import (
	"reflect"
	"testing"
)

const rlNS = "urn:ietf:params:xml:ns:resource-lists"

// selectorDoc has a default namespace, a prefixed extension, a comment, a character
// reference, single quotes, xml:lang and an element in the default namespace through
// another prefix.
const selectorDoc = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"
    xmlns:cp="urn:example:ext">
  <list name="friends">
    <entry uri="sip:bob@example.com"><display-name xml:lang="en">Bob</display-name></entry>
    <!-- a comment -->
    <entry uri='sip:carol@example.com' cp:flag="x"/>
    <cp:note>&#x263A; hi</cp:note>
    <foo:entry xmlns:foo="urn:ietf:params:xml:ns:resource-lists" uri="sip:dave@example.com"/>
  </list>
  <list name="a/b"><entry uri="sip:e@example.com"/></list>
</resource-lists>`

func TestNodeSelector(t *testing.T) {
	d, err := parseXML([]byte(selectorDoc))
	if err != nil {
		t.Fatal(err)
	}
	ns := nameSpace{defaultNS: rlNS, bindings: map[string]string{"x": "urn:example:ext", "rl": rlNS}}
	tests := []struct {
		name, sel, want string
		ct              string
	}{
		{"RFC4825 §6.3: by-attr step", `resource-lists/list[@name="friends"]/entry[@uri="sip:bob@example.com"]/display-name`,
			`<display-name xml:lang="en">Bob</display-name>`, mimeXCAPElement},
		{"RFC4825 §6.3: position counts siblings that match the name", `resource-lists/list[1]/entry[3]`,
			`<foo:entry xmlns:foo="urn:ietf:params:xml:ns:resource-lists" uri="sip:dave@example.com"/>`, mimeXCAPElement},
		{"RFC4825 §6.3: wildcard position counts every element", `resource-lists/list[1]/*[3]`,
			`<cp:note>&#x263A; hi</cp:note>`, mimeXCAPElement},
		{"RFC4825 §6.4: prefix bound by xmlns()", `rl:resource-lists/list[1]/x:note`,
			`<cp:note>&#x263A; hi</cp:note>`, mimeXCAPElement},
		{"RFC4825 §6.3: by-pos-attr with a prefixed attribute", `resource-lists/list[1]/entry[2][@x:flag="x"]`,
			`<entry uri='sip:carol@example.com' cp:flag="x"/>`, mimeXCAPElement},
		{"RFC4825 §6.3: attribute selector returns the raw value", `resource-lists/list[1]/entry[2]/@uri`,
			`sip:carol@example.com`, mimeXCAPAttribute},
		{"RFC4825 §6.3: xml:lang attribute", `resource-lists/list[1]/entry[1]/display-name/@xml:lang`,
			`en`, mimeXCAPAttribute},
		{"RFC4825 §6.3: predicate value with a slash", `resource-lists/list[@name="a/b"]/entry`,
			`<entry uri="sip:e@example.com"/>`, mimeXCAPElement},
		{"RFC4825 §7.3: namespace bindings", `resource-lists/list[1]/namespace::*`,
			`<list xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:cp="urn:example:ext"/>`, mimeXCAPNS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := ParseNodeSelector(pathEscape(tc.sel))
			if err != nil {
				sel, err = ParseNodeSelector(tc.sel)
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := ns.check(sel); err != nil {
				t.Fatal(err)
			}
			got, ct, err := getNode(d, ns, sel)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want || ct != tc.ct {
				t.Errorf("got %s %q, want %s %q", ct, got, tc.ct, tc.want)
			}
		})
	}
	notFound := []string{
		`resource-lists/list/entry`,                    // two lists: ambiguous
		`resource-lists/list[1]/entry`,                 // three entries: ambiguous
		`resource-lists/list[1]/entry[4]`,              // no 4th
		`resource-lists/list[0]`,                       // [0] selects nothing
		`resource-lists/list[1]/entry[2][@uri="nope"]`, // predicate fails
		`resource-lists/list[1]/note`,                  // cp:note is not in the default namespace
		`resource-lists/list[1]/entry[1]/@xmlns`,       // declarations are not attributes
		`resource-lists/list[1]/entry[1]/@flag`,        // unprefixed attribute has no namespace
	}
	for _, s := range notFound {
		t.Run("RFC4825 §6.3: selects nothing: "+s, func(t *testing.T) {
			sel, err := ParseNodeSelector(s)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := getNode(d, ns, sel); err != ErrNotFound {
				t.Fatalf("got %v, want ErrNotFound", err)
			}
		})
	}
	malformed := []string{`a/b[`, `a/b[-1]`, `a/b[@c]`, `a/b[@c=d]`, `@a`, `a/@b/c`, `a/namespace::*/b`, `a/b[1][2]`, `a//b`, `a/b[@c="x"][1]`, `a/b[text()="x"]`}
	for _, s := range malformed {
		t.Run("RFC4825 §6.3: malformed: "+s, func(t *testing.T) {
			if sel, err := ParseNodeSelector(s); err == nil {
				t.Fatalf("parsed as %q", sel.String())
			}
		})
	}
	t.Run("RFC4825 §6.4: unbound prefix is refused", func(t *testing.T) {
		sel, _ := ParseNodeSelector(`y:resource-lists`)
		if err := ns.check(sel); err == nil {
			t.Fatal("no error")
		}
	})
}

func FuzzNodeSelector(f *testing.F) {
	for _, s := range []string{
		`resource-lists/list[@name="friends"]/entry[@uri="sip:bob@example.com"]/display-name`,
		`resource-lists/list[1]/*[3]`, `rl:resource-lists/list[1]/x:note`,
		`resource-lists/list[1]/entry[2][@x:flag="x"]/@uri`, `resource-lists/list%5B@name=%22a%2Fb%22%5D/entry`,
		`resource-lists/list[1]/namespace::*`, `a/b[@c='&lt;&#x41;"']`,
	} {
		f.Add(s)
	}
	d, err := parseXML([]byte(selectorDoc))
	if err != nil {
		f.Fatal(err)
	}
	ns := nameSpace{defaultNS: rlNS, bindings: map[string]string{"x": "urn:example:ext", "rl": rlNS}}
	f.Fuzz(func(t *testing.T, raw string) {
		sel, err := ParseNodeSelector(raw)
		if err != nil {
			return
		}
		again, err := ParseNodeSelector(sel.EscapedString())
		if err != nil {
			t.Fatalf("%q formats as %q which does not parse: %v", raw, sel.EscapedString(), err)
		}
		if !reflect.DeepEqual(sel, again) {
			t.Fatalf("parse(format(x)) != x for %q: %#v vs %#v", raw, sel, again)
		}
		_, _, _ = getNode(d, ns, sel) // must not panic
	})
}
