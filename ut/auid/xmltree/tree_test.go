package xmltree

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

const rlDoc = `<?xml version="1.0" encoding="UTF-8"?>
<!-- RFC 4826 §3.3 shape -->
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <list name="friends">
    <entry uri="sip:bill@example.com">
      <display-name xml:lang='en'>Bill &amp; Doe&#x263A;</display-name>
    </entry>
    <entry-ref ref="resource-lists/users/sip:bill@example.com/index/~~/resource-lists/list%5b@name=%22list1%22%5d/entry%5b@uri=%22sip:petri@example.com%22%5d"/>
    <list name="close-friends">
      <entry uri="sip:joe@example.com"><![CDATA[<raw>]]></entry>
      <entry uri="sip:nancy@example.com"/>
    </list>
    <external anchor="http://xcap.example.org/resource-lists/users/sip:a@example.org/index/~~/resource-lists/list%5b@name=%22mkting%22%5d"/>
    <foo:x xmlns:foo="urn:example:foo" foo:a="1"/>
  </list>
</resource-lists>
`

func TestParseRFC4826Example(t *testing.T) {
	root, err := Parse([]byte(rlDoc))
	if err != nil {
		t.Fatal(err)
	}
	const ns = "urn:ietf:params:xml:ns:resource-lists"
	if !root.Is(ns, "resource-lists") {
		t.Fatalf("root = {%s}%s", root.Space, root.Local)
	}
	list := root.Elements(ns, "list")[0]
	dn := list.Elements(ns, "entry")[0].Elements(ns, "display-name")[0]
	if dn.Text != "Bill & Doe☺" {
		t.Errorf("display-name text = %q", dn.Text)
	}
	if dn.Attrs[0].Space != NamespaceXML || dn.Attrs[0].Value != "en" {
		t.Errorf("xml:lang = %+v", dn.Attrs[0])
	}
	inner := list.Elements(ns, "list")[0]
	if got := inner.Elements(ns, "entry")[1].Path(ns); got != `resource-lists/list[@name="friends"]/list[@name="close-friends"]/entry[@uri="sip:nancy@example.com"]` {
		t.Errorf("path = %s", got)
	}
	if got := inner.Elements(ns, "entry")[0].Text; got != "<raw>" {
		t.Errorf("CDATA text = %q", got)
	}
	foo := list.Children[len(list.Children)-1]
	if foo.Space != "urn:example:foo" || foo.Attrs[0].Space != "urn:example:foo" {
		t.Errorf("foo = %+v", foo)
	}
	if got := foo.Path(ns); got != `resource-lists/list[@name="friends"]/foo:x` {
		t.Errorf("foo path = %s", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc string }{
		{"XML 1.0 §2.1: no document element", `<?xml version="1.0"?>`},
		{"XML 1.0 §2.1: two document elements", `<a/><b/>`},
		{"XML 1.0 §2.1: text after the document element", `<a/>x`},
		{"XML 1.0 §3: mismatched end tag", `<a><b></a></b>`},
		{"XML 1.0 §3: unclosed element", `<a><b/>`},
		{"XML 1.0 §3.1: duplicate attribute", `<a x="1" x="2"/>`},
		{"XML 1.0 §3.1: unquoted attribute", `<a x=1/>`},
		{"XML 1.0 §3.1: '<' in attribute value", `<a x="<"/>`},
		{"XML 1.0 §4.1: undefined entity", `<a>&nbsp;</a>`},
		{"XML 1.0 §4.1: bad character reference", `<a>&#0;</a>`},
		{"XML 1.0 §2.8: DTD refused", `<!DOCTYPE a [<!ENTITY x "y">]><a/>`},
		{"Namespaces §5: undeclared prefix", `<p:a/>`},
		{"Namespaces §6.2: duplicate expanded attribute", `<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>`},
		{"XML 1.0 §2.2: not UTF-8", "<a>\xff</a>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.doc)); !errors.Is(err, ErrSyntax) {
				t.Fatalf("err = %v, want ErrSyntax", err)
			}
		})
	}
}

func TestWriteKeepsInheritedNamespaces(t *testing.T) {
	doc := `<rs:rls-services xmlns:rs="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists"><rs:service uri="sip:l@x"><rs:list name="a"><rl:entry uri="sip:b@x" a="&lt;&quot;"/></rs:list></rs:service></rs:rls-services>`
	root, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	root.Children[0].Write(&b, "")
	again, err := Parse(b.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, b.Bytes())
	}
	if got, want := dump(again), dump(root.Children[0]); got != want {
		t.Errorf("round trip\n got %s\nwant %s", got, want)
	}
}

// dump renders the namespace-resolved structure of e.
func dump(e *Element) string {
	var b strings.Builder
	var walk func(*Element)
	walk = func(e *Element) {
		fmt.Fprintf(&b, "{%s}%s[", e.Space, e.Local)
		for _, a := range e.Attrs {
			fmt.Fprintf(&b, "{%s}%s=%q ", a.Space, a.Local, a.Value)
		}
		b.WriteString("](")
		if len(e.Children) == 0 {
			fmt.Fprintf(&b, "%q", e.Text)
		}
		for _, c := range e.Children {
			walk(c)
		}
		b.WriteString(")")
	}
	walk(e)
	return b.String()
}

// stdDump renders what encoding/xml sees, in the same form as dump.
func stdDump(body []byte) (string, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	type frame struct {
		b        strings.Builder
		text     strings.Builder
		children int
	}
	var stack []*frame
	var out string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			f := &frame{}
			fmt.Fprintf(&f.b, "{%s}%s[", t.Name.Space, t.Name.Local)
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				space := a.Name.Space
				if space == "xml" {
					space = NamespaceXML
				}
				fmt.Fprintf(&f.b, "{%s}%s=%q ", space, a.Name.Local, a.Value)
			}
			f.b.WriteString("](")
			if len(stack) > 0 {
				stack[len(stack)-1].children++
			}
			stack = append(stack, f)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.EndElement:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if f.children == 0 {
				fmt.Fprintf(&f.b, "%q", f.text.String())
			}
			f.b.WriteString(")")
			if len(stack) > 0 {
				stack[len(stack)-1].b.WriteString(f.b.String())
			} else {
				out = f.b.String()
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(rlDoc))
	f.Add([]byte(`<a xmlns="u"><b xmlns:p="v" p:c="&#x41;&lt;">t<![CDATA[x]]>u</b></a>`))
	f.Add([]byte(`<?xml version="1.0"?><a><!-- c --><?pi x?><b/></a>`))
	f.Add([]byte(`<p:a xmlns:p="urn:p"><p:b xml:lang="en"/></p:a>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		root, err := Parse(body)
		if err != nil {
			return
		}
		for _, e := range walk(root) {
			_ = e.Path("urn:p")
		}
		// Whatever we accept, the standard library reads the same way.
		want, err := stdDump(body)
		if err == nil && want != dump(root) {
			t.Fatalf("structure differs\n got %s\nwant %s", dump(root), want)
		}
		var b bytes.Buffer
		root.Write(&b, "")
		again, err := Parse(b.Bytes())
		if err != nil {
			t.Fatalf("rewritten document does not parse: %v\n%s", err, b.Bytes())
		}
		if dump(strip(again)) != dump(strip(root)) {
			t.Fatalf("round trip differs\n got %s\nwant %s", dump(again), dump(root))
		}
	})
}

// strip drops the text of elements with children (Write does not keep mixed content).
func strip(e *Element) *Element {
	for _, n := range walk(e) {
		if len(n.Children) > 0 {
			n.Text = ""
		}
	}
	return e
}

func walk(e *Element) []*Element {
	out := []*Element{e}
	for _, c := range e.Children {
		out = append(out, walk(c)...)
	}
	return out
}

func BenchmarkParse20Entries(b *testing.B) {
	var s strings.Builder
	s.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">` + "\n <list name=\"friends\">\n")
	for i := range 20 {
		fmt.Fprintf(&s, "  <entry uri=\"sip:user%d@example.com\">\n   <display-name>User Number %d</display-name>\n  </entry>\n", i, i)
	}
	s.WriteString(" </list>\n</resource-lists>\n")
	body := []byte(s.String())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}
