package xmltree

import (
	"bytes"
	"strings"
)

// Write appends e as standalone XML to b: the element carries every namespace declaration in
// scope at e (so that it can be moved into another document), then its own attributes and
// children. Text is written only for elements without child elements (mixed content and
// white space between elements are dropped); comments and processing instructions are not
// kept by Parse. indent is the prefix of e's line; children are indented by two spaces more.
func (e *Element) Write(b *bytes.Buffer, indent string) {
	var scope []Binding
	seen := map[string]bool{}
	for n := e; n != nil; n = n.Parent {
		for i := len(n.Decls) - 1; i >= 0; i-- {
			d := n.Decls[i]
			if !seen[d.Prefix] {
				seen[d.Prefix] = true
				scope = append(scope, d)
			}
		}
	}
	// Declarations in the order of the document, outermost first.
	for i, j := 0, len(scope)-1; i < j; i, j = i+1, j-1 {
		scope[i], scope[j] = scope[j], scope[i]
	}
	e.write(b, indent, scope)
}

func (e *Element) write(b *bytes.Buffer, indent string, decls []Binding) {
	b.WriteString(indent)
	b.WriteByte('<')
	b.WriteString(qname(e.Prefix, e.Local))
	for _, d := range decls {
		b.WriteString(" xmlns")
		if d.Prefix != "" {
			b.WriteByte(':')
			b.WriteString(d.Prefix)
		}
		b.WriteString(`="`)
		escape(b, d.URI, true)
		b.WriteByte('"')
	}
	for _, a := range e.Attrs {
		b.WriteByte(' ')
		b.WriteString(qname(a.Prefix, a.Local))
		b.WriteString(`="`)
		escape(b, a.Value, true)
		b.WriteByte('"')
	}
	switch {
	case len(e.Children) > 0:
		b.WriteString(">\n")
		for _, c := range e.Children {
			c.write(b, indent+"  ", c.Decls)
		}
		b.WriteString(indent)
	case e.Text != "":
		b.WriteByte('>')
		escape(b, e.Text, false)
	default:
		b.WriteString("/>\n")
		return
	}
	b.WriteString("</")
	b.WriteString(qname(e.Prefix, e.Local))
	b.WriteString(">\n")
}

// escape writes s as XML character data, or as a double-quoted attribute value.
func escape(b *bytes.Buffer, s string, attr bool) {
	if !strings.ContainsAny(s, "<>&\"\r\n\t") {
		b.WriteString(s)
		return
	}
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			if attr {
				b.WriteString("&quot;")
			} else {
				b.WriteRune(r)
			}
		case '\r':
			b.WriteString("&#xD;")
		case '\n', '\t':
			if attr {
				if r == '\n' {
					b.WriteString("&#xA;")
				} else {
					b.WriteString("&#x9;")
				}
			} else {
				b.WriteRune(r)
			}
		default:
			b.WriteRune(r)
		}
	}
}
