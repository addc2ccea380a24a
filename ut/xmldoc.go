package ut

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// The XCAP engine keeps documents as the client sent them. To answer element GETs with the
// element's own source text and to change only the bytes of one node on PUT and DELETE, it
// parses a document into a small tree that records, for every element and attribute, where
// it sits in the source (byte offsets). encoding/xml checks well-formedness; namespaces are
// resolved here, so that prefixes are kept and the node-selector evaluator (selector.go)
// compares expanded names.

const (
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

// xdoc is one parsed document.
type xdoc struct {
	src []byte
	// top is the document node: its only element child is the document element.
	top *xelem
}

// xelem is one element and where it is in the source.
type xelem struct {
	parent      *xelem
	prefix      string
	local       string
	space       string // namespace URI, "" for none
	attrs       []xattr
	decls       []nsDecl // namespace declarations on this element
	children    []*xelem // element children in document order
	start       int      // offset of '<'
	nameEnd     int      // offset just after the element's QName in the start tag
	tagEnd      int      // offset just after the start tag's '>'
	closeStart  int      // offset of the end tag's '<' (== tagEnd for <x/>)
	end         int      // offset just after the element
	selfClosing bool
	lastAttrEnd int // offset after the last attribute (or nameEnd when there is none)
	precedingWS int // start of the whitespace-only text right before the element (== start if none)
}

// xattr is one attribute (namespace declarations are kept apart, in decls).
type xattr struct {
	prefix, local, space string
	value                string // decoded value
	start, end           int    // the whole name="value"
	valStart, valEnd     int    // the raw value between the quotes
	wsStart              int    // start of the whitespace before the attribute
}

type nsDecl struct{ prefix, uri string }

func (e *xelem) qname() string {
	if e.prefix == "" {
		return e.local
	}
	return e.prefix + ":" + e.local
}

// lookupPrefix resolves a prefix in the element's scope ("" is the default namespace).
func (e *xelem) lookupPrefix(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	for n := e; n != nil; n = n.parent {
		for i := len(n.decls) - 1; i >= 0; i-- {
			if n.decls[i].prefix == prefix {
				return n.decls[i].uri, true
			}
		}
	}
	if prefix == "" {
		return "", true
	}
	return "", false
}

// inScope lists the namespace bindings in scope at the element, nearest first wins.
func (e *xelem) inScope() []nsDecl {
	seen := map[string]bool{}
	var out []nsDecl
	for n := e; n != nil; n = n.parent {
		for i := len(n.decls) - 1; i >= 0; i-- {
			d := n.decls[i]
			if seen[d.prefix] {
				continue
			}
			seen[d.prefix] = true
			if d.uri == "" && d.prefix == "" { // xmlns="" undeclares the default
				continue
			}
			out = append(out, d)
		}
	}
	return out
}

// prefixFor finds a non-default prefix bound to uri in the element's scope.
func (e *xelem) prefixFor(uri string) (string, bool) {
	if uri == nsXML {
		return "xml", true
	}
	for _, d := range e.inScope() {
		if d.prefix != "" && d.uri == uri {
			return d.prefix, true
		}
	}
	return "", false
}

func (e *xelem) attr(space, local string) *xattr {
	for i := range e.attrs {
		if e.attrs[i].local == local && e.attrs[i].space == space {
			return &e.attrs[i]
		}
	}
	return nil
}

// xmlError is why a body is not acceptable XML; parse callers turn it into the right
// XCAP conflict (not-well-formed, not-xml-frag, not-utf-8).
type xmlError struct {
	notUTF8 bool
	limit   bool // well-formed, but beyond what imsps parses (constraint-failure)
	reason  string
}

// maxDepth bounds element nesting: no application usage comes near it, and every walk up
// the tree (namespace scope, selectors) costs the depth.
const maxDepth = 256

func (e *xmlError) Error() string { return e.reason }

func notWellFormed(format string, args ...any) error {
	return &xmlError{reason: fmt.Sprintf(format, args...)}
}

var errCharset = errors.New("not UTF-8")

// parseXML parses a complete document.
func parseXML(src []byte) (*xdoc, error) {
	top, err := parseTree(src, 0, nil)
	if err != nil {
		return nil, err
	}
	if len(top.children) != 1 {
		return nil, notWellFormed("a document has exactly one root element, found %d", len(top.children))
	}
	return &xdoc{src: src, top: top}, nil
}

// parseTree parses src[from:] as a sequence of top-level items below a synthetic parent
// that carries the given namespace declarations (for fragments). Offsets are relative to src.
func parseTree(src []byte, from int, decls []nsDecl) (*xelem, error) {
	if !utf8.Valid(src) {
		return nil, &xmlError{notUTF8: true, reason: "body is not UTF-8"}
	}
	if bytes.HasPrefix(src[from:], []byte("\xef\xbb\xbf")) { // a UTF-8 byte order mark is allowed
		from += 3
	}
	top := &xelem{start: from, end: len(src), tagEnd: from, closeStart: len(src), decls: decls}
	dec := xml.NewDecoder(bytes.NewReader(src[from:]))
	dec.Strict = true
	charsetRefused := false
	dec.CharsetReader = func(label string, input io.Reader) (io.Reader, error) {
		charsetRefused = true
		return nil, errCharset
	}
	cur := top
	depth := 0
	// scope resolves prefixes while parsing, in constant time whatever the depth or the
	// number of declarations: prefix -> URIs bound, innermost last.
	scope := newNSScope(decls)
	prev := 0 // offset (relative to from) where the current token starts
	lastWS := -1
	sawDecl := false
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			if charsetRefused {
				return nil, &xmlError{notUTF8: true, reason: "documents must be encoded in UTF-8"}
			}
			return nil, notWellFormed("%v", err)
		}
		off := int(dec.InputOffset())
		start, end := from+prev, from+off
		prev = off
		switch t := tok.(type) {
		case xml.StartElement:
			if cur == top && len(top.children) > 0 && decls == nil {
				return nil, notWellFormed("content after the root element")
			}
			e := &xelem{parent: cur, start: start, tagEnd: end}
			if lastWS >= 0 {
				e.precedingWS = lastWS
			} else {
				e.precedingWS = start
			}
			if depth++; depth > maxDepth {
				return nil, &xmlError{limit: true, reason: fmt.Sprintf("elements nested deeper than %d levels", maxDepth)}
			}
			if err := scanStartTag(src, e, t, scope); err != nil {
				return nil, err
			}
			cur.children = append(cur.children, e)
			cur = e
			lastWS = -1
		case xml.EndElement:
			if cur == top {
				return nil, notWellFormed("unexpected end tag </%s>", rawName(t.Name))
			}
			if rawName(t.Name) != cur.qname() {
				return nil, notWellFormed("element <%s> closed by </%s>", cur.qname(), rawName(t.Name))
			}
			if start == end {
				cur.selfClosing = true
				cur.closeStart = cur.tagEnd
			} else {
				cur.closeStart = start
			}
			cur.end = end
			scope.pop(cur.decls)
			depth--
			cur = cur.parent
			lastWS = -1
		case xml.CharData:
			if len(bytes.TrimLeft(src[start:end], " \t\r\n")) == 0 {
				lastWS = start
				continue
			}
			lastWS = -1
			if cur == top {
				return nil, notWellFormed("text outside the root element")
			}
		case xml.ProcInst:
			lastWS = -1
			if t.Target == "xml" {
				if start != from || sawDecl {
					return nil, notWellFormed("XML declaration not at the start")
				}
				sawDecl = true
				if enc := declEncoding(string(t.Inst)); enc != "" && !strings.EqualFold(enc, "utf-8") {
					return nil, &xmlError{notUTF8: true, reason: "documents must be encoded in UTF-8"}
				}
			}
		case xml.Comment:
			lastWS = -1
		case xml.Directive:
			return nil, notWellFormed("document type declarations are not accepted")
		}
	}
	if cur != top {
		return nil, notWellFormed("element <%s> not closed", cur.qname())
	}
	return top, nil
}

func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

func declEncoding(inst string) string {
	i := strings.Index(inst, "encoding")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(inst[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return ""
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" {
		return ""
	}
	q := rest[0]
	if q != '"' && q != '\'' {
		return ""
	}
	if j := strings.IndexByte(rest[1:], q); j >= 0 {
		return rest[1 : 1+j]
	}
	return ""
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// scanStartTag records the element's name, attributes with their offsets, and namespace
// declarations, then resolves the element's and attributes' namespaces.
func scanStartTag(src []byte, e *xelem, t xml.StartElement, scope nsScope) error {
	e.prefix, e.local = t.Name.Space, t.Name.Local
	if e.prefix == "xmlns" {
		return notWellFormed("element name uses the xmlns prefix")
	}
	p := e.start + 1 + len(rawName(t.Name))
	e.nameEnd = p
	e.lastAttrEnd = p
	type rawAttr struct {
		name                                  xml.Name
		value                                 string
		wsStart, start, end, valStart, valEnd int
	}
	var raws []rawAttr
	for i := 0; i < len(t.Attr); i++ {
		ws := p
		for p < e.tagEnd && isXMLSpace(src[p]) {
			p++
		}
		as := p
		for p < e.tagEnd && src[p] != '=' && !isXMLSpace(src[p]) {
			p++
		}
		for p < e.tagEnd && isXMLSpace(src[p]) {
			p++
		}
		if p >= e.tagEnd || src[p] != '=' {
			return notWellFormed("malformed attribute in <%s>", e.qname())
		}
		p++
		for p < e.tagEnd && isXMLSpace(src[p]) {
			p++
		}
		if p >= e.tagEnd || (src[p] != '"' && src[p] != '\'') {
			return notWellFormed("unquoted attribute value in <%s>", e.qname())
		}
		q := src[p]
		vs := p + 1
		j := bytes.IndexByte(src[vs:e.tagEnd], q)
		if j < 0 {
			return notWellFormed("unterminated attribute value in <%s>", e.qname())
		}
		ve := vs + j
		p = ve + 1
		raws = append(raws, rawAttr{name: t.Attr[i].Name, value: t.Attr[i].Value,
			wsStart: ws, start: as, end: p, valStart: vs, valEnd: ve})
	}
	if len(raws) > 0 {
		e.lastAttrEnd = raws[len(raws)-1].end
	}
	for _, a := range raws {
		switch {
		case a.name.Space == "" && a.name.Local == "xmlns":
			e.decls = append(e.decls, nsDecl{"", a.value})
		case a.name.Space == "xmlns":
			if a.value == "" {
				return notWellFormed("empty namespace name for prefix %q", a.name.Local)
			}
			e.decls = append(e.decls, nsDecl{a.name.Local, a.value})
		}
	}
	scope.push(e.decls)
	space, ok := scope.lookup(e.prefix)
	if !ok {
		return notWellFormed("undeclared namespace prefix %q", e.prefix)
	}
	e.space = space
	var seen map[[2]string]struct{} // duplicate check in constant time for many attributes
	if len(raws) > 16 {
		seen = make(map[[2]string]struct{}, len(raws))
	}
	for _, a := range raws {
		if (a.name.Space == "" && a.name.Local == "xmlns") || a.name.Space == "xmlns" {
			continue
		}
		at := xattr{prefix: a.name.Space, local: a.name.Local, value: a.value,
			start: a.start, end: a.end, valStart: a.valStart, valEnd: a.valEnd, wsStart: a.wsStart}
		if at.prefix != "" {
			s, ok := scope.lookup(at.prefix)
			if !ok {
				return notWellFormed("undeclared namespace prefix %q", at.prefix)
			}
			at.space = s
		}
		if seen != nil {
			k := [2]string{at.space, at.local}
			if _, dup := seen[k]; dup {
				return notWellFormed("duplicate attribute %s in <%s>", at.local, e.qname())
			}
			seen[k] = struct{}{}
		} else if e.attr(at.space, at.local) != nil {
			return notWellFormed("duplicate attribute %s in <%s>", at.local, e.qname())
		}
		e.attrs = append(e.attrs, at)
	}
	return nil
}

// nsScope is the namespace scope while parsing: prefix -> URIs bound, innermost last.
type nsScope map[string][]string

func newNSScope(decls []nsDecl) nsScope {
	s := nsScope{}
	s.push(decls)
	return s
}

func (s nsScope) push(decls []nsDecl) {
	for _, d := range decls {
		s[d.prefix] = append(s[d.prefix], d.uri)
	}
}

func (s nsScope) pop(decls []nsDecl) {
	for _, d := range decls {
		if st := s[d.prefix]; len(st) > 0 {
			s[d.prefix] = st[:len(st)-1]
		}
	}
}

// lookup resolves a prefix as xelem.lookupPrefix does.
func (s nsScope) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	if st := s[prefix]; len(st) > 0 {
		return st[len(st)-1], true
	}
	return "", prefix == ""
}

// parseFragment parses an element body (application/xcap-el+xml) as it would sit below
// parent: prefixes in scope there apply. It returns the element (its offsets are into body),
// which may follow an XML declaration and be surrounded by whitespace.
func parseFragment(body []byte, parent *xelem) (el *xelem, err error) {
	if !utf8.Valid(body) {
		return nil, &xmlError{notUTF8: true, reason: "body is not UTF-8"}
	}
	var decls []nsDecl
	if parent != nil {
		decls = parent.inScope()
	}
	// An XML declaration (some clients send one) is allowed and not kept.
	from := 0
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if bytes.HasPrefix(trimmed, []byte("<?xml")) && len(trimmed) > 5 && isXMLSpace(trimmed[5]) {
		i := bytes.Index(trimmed, []byte("?>"))
		if i < 0 {
			return nil, notWellFormed("unterminated XML declaration")
		}
		from = len(body) - len(trimmed) + i + 2
	}
	top, err := parseTree(body, from, decls)
	if err != nil {
		return nil, err
	}
	if len(top.children) != 1 {
		return nil, notWellFormed("an element body holds exactly one element, found %d", len(top.children))
	}
	el = top.children[0]
	// Only whitespace may surround it: no comments, no processing instructions.
	if len(bytes.TrimSpace(body[from:el.start])) != 0 || len(bytes.TrimSpace(body[el.end:])) != 0 {
		return nil, notWellFormed("only whitespace may surround the element")
	}
	return el, nil
}
