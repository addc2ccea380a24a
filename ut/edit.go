package ut

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The document operations of RFC 4825 §8.2-§8.4 on stored bytes. Every write splices
// only the bytes of the node it touches, re-parses the result and checks, as §8.2.3/§8.2.4
// and §8.3 require, that the request URI now selects what was put (else cannot-insert)
// or nothing (else cannot-delete).

// ancestorFunc gives the URI of the document with the first n steps of the node selector
// (n == 0: the document itself), for no-parent bodies.
type ancestorFunc func(n int) string

func splice(src []byte, from, to int, ins ...[]byte) []byte {
	n := len(src) - (to - from)
	for _, b := range ins {
		n += len(b)
	}
	out := make([]byte, 0, n)
	out = append(out, src[:from]...)
	for _, b := range ins {
		out = append(out, b...)
	}
	return append(out, src[to:]...)
}

// indent is the whitespace-only text right before e ("" when there is none).
func indent(src []byte, e *xelem) []byte {
	if e.precedingWS < e.start {
		return src[e.precedingWS:e.start]
	}
	return nil
}

// getNode answers a GET with a node selector (§8.4).
func getNode(d *xdoc, ns nameSpace, sel *NodeSelector) (body []byte, contentType string, err error) {
	e, _ := ns.walk(d, sel.Steps)
	if e == nil {
		return nil, "", ErrNotFound
	}
	switch {
	case sel.Attribute != nil:
		a := ns.attribute(e, *sel.Attribute)
		if a == nil {
			return nil, "", ErrNotFound
		}
		return d.src[a.valStart:a.valEnd], mimeXCAPAttribute, nil
	case sel.Namespaces:
		return namespaceBindings(e), mimeXCAPNS, nil
	}
	return d.src[e.start:e.end], mimeXCAPElement, nil
}

// namespaceBindings is the application/xcap-ns+xml body of §7.3/§8.4: the selected
// element, empty, carrying a declaration for every namespace in scope.
func namespaceBindings(e *xelem) []byte {
	var b strings.Builder
	b.WriteString("<" + e.qname())
	decls := e.inScope()
	for i := len(decls) - 1; i >= 0; i-- {
		d := decls[i]
		if d.prefix == "" {
			b.WriteString(` xmlns="` + escapeAttValue(d.uri) + `"`)
		} else {
			b.WriteString(` xmlns:` + d.prefix + `="` + escapeAttValue(d.uri) + `"`)
		}
	}
	b.WriteString("/>")
	return []byte(b.String())
}

// putElement creates or replaces the element the selector names with the body (§8.2.3,
// §8.2.4). It returns the new document and whether the element was created.
func putElement(d *xdoc, ns nameSpace, sel *NodeSelector, body []byte, ancestor ancestorFunc) (*xdoc, bool, error) {
	src := d.src
	steps := sel.Steps
	parent, k := ns.walk(d, steps[:len(steps)-1])
	if parent == nil {
		return nil, false, &Conflict{Tag: "no-parent", Ancestor: ancestor(k)}
	}
	var fragParent *xelem
	if parent != d.top {
		fragParent = parent
	}
	fel, err := parseFragment(body, fragParent)
	if err != nil {
		return nil, false, xmlConflict(err, true)
	}
	frag := body[fel.start:fel.end]
	last := steps[len(steps)-1]
	matches := ns.stepSelect(last, parent)
	var out []byte
	var at int
	created := false
	switch len(matches) {
	case 1:
		m := matches[0]
		out, at = splice(src, m.start, m.end, frag), m.start
	case 0:
		if parent == d.top {
			return nil, false, &Conflict{Tag: "cannot-insert", Phrase: "a document has one root element"}
		}
		created = true
		out, at, err = insertElement(src, ns, parent, last, fel, frag)
		if err != nil {
			return nil, false, err
		}
	default:
		return nil, false, &Conflict{Tag: "cannot-insert", Phrase: "the node selector selects more than one element"}
	}
	nd, err := parseXML(out)
	if err != nil {
		return nil, false, &Conflict{Tag: "not-xml-frag", Phrase: err.Error()}
	}
	if e, _ := ns.walk(nd, steps); e == nil || e.start != at || e.end != at+len(frag) {
		return nil, false, &Conflict{Tag: "cannot-insert", Phrase: "the request URI would not select the element put"}
	}
	return nd, created, nil
}

// insertElement places a new element among parent's children (§8.2.3). With a position
// predicate [n] it goes right after the (n-1)-th sibling passing the step's name test (before
// the first one when n is 1), so that it becomes the n-th. Without one it goes after the
// last sibling with its own expanded name (for a "*" step the body's name decides), or
// after the last element child when there is none. It takes the indentation of the sibling
// it is placed next to. It returns the new document and the new element's offset.
func insertElement(src []byte, ns nameSpace, parent *xelem, last Step, fel *xelem, frag []byte) ([]byte, int, error) {
	var named []*xelem
	for _, ch := range parent.children {
		if last.HasPosition && ns.nameMatches(last, ch) ||
			!last.HasPosition && ch.local == fel.local && ch.space == fel.space {
			named = append(named, ch)
		}
	}
	if n := last.Position; last.HasPosition {
		switch {
		case n < 1 || n-1 > len(named):
			return nil, 0, &Conflict{Tag: "cannot-insert",
				Phrase: fmt.Sprintf("position %d, but only %d such siblings exist", n, len(named))}
		case n == 1 && len(named) > 0:
			ref := named[0]
			ws := indent(src, ref)
			return splice(src, ref.start, ref.start, frag, ws), ref.start, nil
		case n > 1:
			named = named[:n-1]
		}
	}
	if len(named) > 0 {
		ref := named[len(named)-1]
		ws := indent(src, ref)
		return splice(src, ref.end, ref.end, ws, frag), ref.end + len(ws), nil
	}
	if n := len(parent.children); n > 0 {
		ref := parent.children[n-1]
		ws := indent(src, ref)
		return splice(src, ref.end, ref.end, ws, frag), ref.end + len(ws), nil
	}
	if parent.selfClosing {
		// <p .../> becomes <p ...>frag</p>: only the "/>" is rewritten.
		at := parent.tagEnd - 2
		return splice(src, at, parent.tagEnd, []byte(">"), frag, []byte("</"+parent.qname()+">")), at + 1, nil
	}
	return splice(src, parent.closeStart, parent.closeStart, frag), parent.closeStart, nil
}

// checkAttValue checks an application/xcap-att+xml body: the content of an XML AttValue
// without its quotes (§8.2.2).
func checkAttValue(body []byte) error {
	if !utf8.Valid(body) {
		return &Conflict{Tag: "not-utf-8"}
	}
	if _, err := decodeAttValue(string(body)); err != nil {
		return &Conflict{Tag: "not-xml-att-value", Phrase: err.Error()}
	}
	if bytes.IndexByte(body, '"') >= 0 && bytes.IndexByte(body, '\'') >= 0 {
		return &Conflict{Tag: "not-xml-att-value", Phrase: "a value cannot hold both kinds of quote"}
	}
	return nil
}

// putAttribute creates or replaces an attribute (§8.2.3, §8.2.4).
func putAttribute(d *xdoc, ns nameSpace, sel *NodeSelector, body []byte, ancestor ancestorFunc) (*xdoc, bool, error) {
	src := d.src
	e, k := ns.walk(d, sel.Steps)
	if e == nil {
		return nil, false, &Conflict{Tag: "no-parent", Ancestor: ancestor(k)}
	}
	if err := checkAttValue(body); err != nil {
		return nil, false, err
	}
	q := *sel.Attribute
	uri, err := ns.resolve(q, false)
	if err != nil {
		return nil, false, &SelectorError{Selector: sel.String(), Reason: err.Error()}
	}
	if (q.Prefix == "" && q.Local == "xmlns") || uri == nsXMLNS {
		return nil, false, &Conflict{Tag: "cannot-insert", Phrase: "namespace declarations are not attributes"}
	}
	var out []byte
	var valAt int
	created := false
	if a := e.attr(uri, q.Local); a != nil {
		quote := src[a.valStart-1]
		if bytes.IndexByte(body, quote) >= 0 {
			nq := byte('"')
			if quote == '"' {
				nq = '\''
			}
			out = splice(src, a.valStart-1, a.valEnd+1, []byte{nq}, body, []byte{nq})
		} else {
			out = splice(src, a.valStart, a.valEnd, body)
		}
		valAt = a.valStart
	} else {
		created = true
		var decl, name string
		switch {
		case uri == "":
			name = q.Local
		default:
			p, ok := e.prefixFor(uri)
			if !ok {
				p = q.Prefix
				for i := 1; ; i++ {
					if _, bound := e.lookupPrefix(p); !bound {
						break
					}
					p = fmt.Sprintf("ns%d", i)
				}
				decl = ` xmlns:` + p + `="` + escapeAttValue(uri) + `"`
			}
			name = p + ":" + q.Local
		}
		quote := `"`
		if bytes.IndexByte(body, '"') >= 0 {
			quote = `'`
		}
		ins := decl + " " + name + "=" + quote
		out = splice(src, e.lastAttrEnd, e.lastAttrEnd, []byte(ins), body, []byte(quote))
		valAt = e.lastAttrEnd + len(ins)
	}
	nd, err := parseXML(out)
	if err != nil {
		return nil, false, &Conflict{Tag: "not-xml-att-value", Phrase: err.Error()}
	}
	ne, _ := ns.walk(nd, sel.Steps)
	if ne == nil {
		return nil, false, &Conflict{Tag: "cannot-insert", Phrase: "the request URI would not select the attribute put"}
	}
	a := ns.attribute(ne, q)
	if a == nil || !bytes.Equal(out[a.valStart:a.valEnd], body) || (a.valStart != valAt && a.valStart != valAt+1) {
		return nil, false, &Conflict{Tag: "cannot-insert", Phrase: "the request URI would not select the attribute put"}
	}
	return nd, created, nil
}

// deleteNode removes the element or attribute the selector names (§8.3). An element goes
// with the whitespace that indented it.
func deleteNode(d *xdoc, ns nameSpace, sel *NodeSelector) (*xdoc, error) {
	src := d.src
	e, _ := ns.walk(d, sel.Steps)
	if e == nil {
		return nil, ErrNotFound
	}
	var out []byte
	switch {
	case sel.Namespaces:
		return nil, &MethodNotAllowedError{Allow: "GET"}
	case sel.Attribute != nil:
		a := ns.attribute(e, *sel.Attribute)
		if a == nil {
			return nil, ErrNotFound
		}
		out = splice(src, a.wsStart, a.end)
	default:
		if e.parent == nil || e.parent.parent == nil {
			return nil, &Conflict{Tag: "cannot-delete", Phrase: "the document element cannot be deleted; delete the document"}
		}
		out = splice(src, e.precedingWS, e.end)
	}
	nd, err := parseXML(out)
	if err != nil {
		return nil, &Conflict{Tag: "cannot-delete", Phrase: err.Error()}
	}
	ne, _ := ns.walk(nd, sel.Steps)
	if ne != nil && (sel.Attribute == nil || ns.attribute(ne, *sel.Attribute) != nil) {
		return nil, &Conflict{Tag: "cannot-delete", Phrase: "the request URI would still select a node"}
	}
	return nd, nil
}
