package xmltree

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// NamespaceXML is the namespace bound to the "xml" prefix (Namespaces in XML §3).
const NamespaceXML = "http://www.w3.org/XML/1998/namespace"

// MaxDepth bounds element nesting; deeper documents are refused.
const MaxDepth = 256

// ErrSyntax is wrapped by every error of Parse.
var ErrSyntax = errors.New("xml syntax")

// Attr is an attribute; Space is empty for unprefixed attributes (Namespaces in XML §6.2).
type Attr struct {
	Space, Prefix, Local, Value string
}

// Binding is a namespace declaration: Prefix "" is the default namespace.
type Binding struct {
	Prefix, URI string
}

// Element is one element of a parsed document.
type Element struct {
	Space  string // namespace URI
	Prefix string // prefix as written in the document
	Local  string
	Attrs  []Attr    // attributes other than namespace declarations
	Decls  []Binding // namespace declarations written on this element
	// Children are the child elements in document order.
	Children []*Element
	Parent   *Element
	// Text is the concatenated character data of the element's own text children.
	Text string
}

// Attr returns the value of the unprefixed attribute local.
func (e *Element) Attr(local string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Space == "" && a.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// Is reports whether e is the element {space}local.
func (e *Element) Is(space, local string) bool { return e.Space == space && e.Local == local }

// Elements returns e's children named {space}local.
func (e *Element) Elements(space, local string) []*Element {
	var out []*Element
	for _, c := range e.Children {
		if c.Is(space, local) {
			out = append(out, c)
		}
	}
	return out
}

// Lookup resolves prefix in the scope of e ("" is the default namespace).
func (e *Element) Lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return NamespaceXML, true
	}
	for n := e; n != nil; n = n.Parent {
		for i := len(n.Decls) - 1; i >= 0; i-- {
			if n.Decls[i].Prefix == prefix {
				return n.Decls[i].URI, true
			}
		}
	}
	return "", false
}

// Parse reads body into a tree and returns the document element. It accepts what a
// namespace-aware XML 1.0 parser accepts for these documents (declaration, comments,
// processing instructions, CDATA, the five predefined entities and character references)
// and refuses DTDs.
func Parse(body []byte) (*Element, error) {
	p := parser{b: body, names: make(map[string]string, 16)}
	root, err := p.document()
	if err != nil {
		return nil, fmt.Errorf("%w at byte %d: %v", ErrSyntax, p.i, err)
	}
	return root, nil
}

type parser struct {
	b     []byte
	i     int
	scope []Binding // in-scope declarations, innermost last
	// names interns element and attribute names, which repeat throughout a document.
	names map[string]string
	raws  []rawAttr // scratch for one start tag
}

type rawAttr struct{ name, value string }

// intern returns b as a string, sharing one copy per distinct name.
func (p *parser) intern(b []byte) string {
	if s, ok := p.names[string(b)]; ok {
		return s
	}
	s := string(b)
	p.names[s] = s
	return s
}

func (p *parser) document() (*Element, error) {
	p.b = bytes.TrimPrefix(p.b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(p.b) {
		return nil, errors.New("not UTF-8")
	}
	var root, cur *Element
	// The element's text: pending is the one raw segment seen since the last tag (not yet
	// decoded); text collects several segments (CDATA, text around comments).
	var (
		text    strings.Builder
		pending []byte
		multi   bool
	)
	flush := func() error {
		err := unescape(&text, pending)
		pending, multi = nil, true
		return err
	}
	reset := func() error {
		var err error
		if bytes.IndexByte(pending, '&') >= 0 { // still must be well-formed
			var discard strings.Builder
			err = unescape(&discard, pending)
		}
		text.Reset()
		pending, multi = nil, false
		return err
	}
	depth := 0
	// marks holds len(p.scope) at each open element.
	marks := make([]int, 0, 16)
	for p.i < len(p.b) {
		if p.b[p.i] != '<' {
			j := bytes.IndexByte(p.b[p.i:], '<')
			if j < 0 {
				j = len(p.b) - p.i
			}
			raw := p.b[p.i : p.i+j]
			p.i += j
			if cur == nil {
				if len(bytes.TrimSpace(raw)) != 0 {
					return nil, errors.New("text outside the document element")
				}
				continue
			}
			if pending == nil && !multi {
				pending = raw
				continue
			}
			if err := flush(); err != nil {
				return nil, err
			}
			if err := unescape(&text, raw); err != nil {
				return nil, err
			}
			continue
		}
		rest := p.b[p.i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<?")):
			j := bytes.Index(rest, []byte("?>"))
			if j < 0 {
				return nil, errors.New("unterminated processing instruction")
			}
			p.i += j + 2
		case bytes.HasPrefix(rest, []byte("<!--")):
			j := bytes.Index(rest[4:], []byte("-->"))
			if j < 0 {
				return nil, errors.New("unterminated comment")
			}
			p.i += 4 + j + 3
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			if cur == nil {
				return nil, errors.New("CDATA outside the document element")
			}
			j := bytes.Index(rest[9:], []byte("]]>"))
			if j < 0 {
				return nil, errors.New("unterminated CDATA section")
			}
			if err := flush(); err != nil {
				return nil, err
			}
			text.Write(rest[9 : 9+j])
			p.i += 9 + j + 3
		case bytes.HasPrefix(rest, []byte("<!")):
			return nil, errors.New("DTDs and declarations are not allowed")
		case bytes.HasPrefix(rest, []byte("</")):
			if cur == nil {
				return nil, errors.New("end tag without start tag")
			}
			p.i += 2
			name := p.name()
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != '>' {
				return nil, errors.New("malformed end tag")
			}
			p.i++
			if !matches(name, cur.Prefix, cur.Local) {
				return nil, fmt.Errorf("end tag %s does not match %s", name, qname(cur.Prefix, cur.Local))
			}
			if len(cur.Children) == 0 {
				switch {
				case multi:
					if err := flush(); err != nil {
						return nil, err
					}
					cur.Text = text.String()
				case bytes.IndexByte(pending, '&') < 0:
					cur.Text = string(pending)
				default:
					if err := flush(); err != nil {
						return nil, err
					}
					cur.Text = text.String()
				}
			}
			if err := reset(); err != nil {
				return nil, err
			}
			p.scope = p.scope[:marks[len(marks)-1]]
			marks = marks[:len(marks)-1]
			cur = cur.Parent
			depth--
		default:
			if cur == nil && root != nil {
				return nil, errors.New("second document element")
			}
			if err := reset(); err != nil {
				return nil, err
			}
			depth++
			if depth > MaxDepth {
				return nil, errors.New("too deeply nested")
			}
			marks = append(marks, len(p.scope))
			e, empty, err := p.startTag(cur)
			if err != nil {
				return nil, err
			}
			if cur != nil {
				cur.Children = append(cur.Children, e)
			} else {
				root = e
			}
			if empty {
				p.scope = p.scope[:marks[len(marks)-1]]
				marks = marks[:len(marks)-1]
				depth--
			} else {
				cur = e
			}
		}
	}
	if root == nil {
		return nil, errors.New("no document element")
	}
	if cur != nil {
		return nil, fmt.Errorf("unclosed element %s", qname(cur.Prefix, cur.Local))
	}
	return root, nil
}

// startTag reads "<name attr='v' ...>" or ".../>" and resolves its namespaces.
func (p *parser) startTag(parent *Element) (*Element, bool, error) {
	p.i++ // '<'
	name := p.intern(p.name())
	if name == "" {
		return nil, false, errors.New("missing element name")
	}
	e := &Element{Parent: parent}
	raws := p.raws[:0]
	empty := false
	for {
		hadSpace := p.space()
		if p.i >= len(p.b) {
			return nil, false, errors.New("unterminated start tag")
		}
		c := p.b[p.i]
		if c == '>' {
			p.i++
			break
		}
		if c == '/' {
			if p.i+1 >= len(p.b) || p.b[p.i+1] != '>' {
				return nil, false, errors.New("malformed empty-element tag")
			}
			p.i += 2
			empty = true
			break
		}
		if !hadSpace {
			return nil, false, errors.New("missing space before attribute")
		}
		an := p.intern(p.name())
		if an == "" {
			return nil, false, fmt.Errorf("unexpected %q in start tag", c)
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '=' {
			return nil, false, fmt.Errorf("attribute %s without value", an)
		}
		p.i++
		p.space()
		if p.i >= len(p.b) || (p.b[p.i] != '"' && p.b[p.i] != '\'') {
			return nil, false, fmt.Errorf("attribute %s value not quoted", an)
		}
		q := p.b[p.i]
		j := bytes.IndexByte(p.b[p.i+1:], q)
		if j < 0 {
			return nil, false, fmt.Errorf("unterminated value of %s", an)
		}
		raw := p.b[p.i+1 : p.i+1+j]
		p.i += j + 2
		if bytes.IndexByte(raw, '<') >= 0 {
			return nil, false, fmt.Errorf("'<' in value of %s", an)
		}
		var value string
		if bytes.IndexByte(raw, '&') < 0 {
			value = string(raw)
		} else {
			var v strings.Builder
			if err := unescape(&v, raw); err != nil {
				return nil, false, err
			}
			value = v.String()
		}
		for _, r := range raws {
			if r.name == an {
				return nil, false, fmt.Errorf("duplicate attribute %s", an)
			}
		}
		raws = append(raws, rawAttr{an, normalizeAttr(value)})
	}
	// Namespace declarations first (they apply to the element's own name and attributes).
	for _, r := range raws {
		switch {
		case r.name == "xmlns":
			e.Decls = append(e.Decls, Binding{"", r.value})
		case strings.HasPrefix(r.name, "xmlns:"):
			pfx := r.name[len("xmlns:"):]
			if !isNCName(pfx) || r.value == "" {
				return nil, false, fmt.Errorf("bad namespace declaration %s", r.name)
			}
			e.Decls = append(e.Decls, Binding{pfx, r.value})
		}
	}
	p.raws = raws[:0]
	p.scope = append(p.scope, e.Decls...)
	e.Prefix, e.Local = split(name)
	if e.Local == "" || strings.Contains(e.Local, ":") {
		return nil, false, fmt.Errorf("bad element name %s", name)
	}
	ns, ok := p.lookup(e.Prefix)
	if !ok {
		return nil, false, fmt.Errorf("undeclared prefix %s", e.Prefix)
	}
	e.Space = ns
	if n := len(raws) - len(e.Decls); n > 0 {
		e.Attrs = make([]Attr, 0, n)
	}
	for _, r := range raws {
		if r.name == "xmlns" || strings.HasPrefix(r.name, "xmlns:") {
			continue
		}
		a := Attr{Value: r.value}
		a.Prefix, a.Local = split(r.name)
		if a.Local == "" || strings.Contains(a.Local, ":") {
			return nil, false, fmt.Errorf("bad attribute name %s", r.name)
		}
		if a.Prefix != "" {
			if a.Space, ok = p.lookup(a.Prefix); !ok || a.Space == "" {
				return nil, false, fmt.Errorf("undeclared prefix %s", a.Prefix)
			}
		}
		for _, b := range e.Attrs {
			if b.Space == a.Space && b.Local == a.Local {
				return nil, false, fmt.Errorf("duplicate attribute {%s}%s", a.Space, a.Local)
			}
		}
		e.Attrs = append(e.Attrs, a)
	}
	return e, empty, nil
}

func (p *parser) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return NamespaceXML, true
	}
	for i := len(p.scope) - 1; i >= 0; i-- {
		if p.scope[i].Prefix == prefix {
			return p.scope[i].URI, true
		}
	}
	return "", prefix == ""
}

// name reads an XML name (loosely: up to a delimiter).
func (p *parser) name() []byte {
	start := p.i
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n', '/', '>', '=', '<', '"', '\'', '&':
			return p.b[start:p.i]
		}
		p.i++
	}
	return p.b[start:p.i]
}

// matches reports whether the end-tag name is prefix:local.
func matches(name []byte, prefix, local string) bool {
	if prefix == "" {
		return string(name) == local
	}
	return len(name) == len(prefix)+1+len(local) && string(name[:len(prefix)]) == prefix &&
		name[len(prefix)] == ':' && string(name[len(prefix)+1:]) == local
}

func (p *parser) space() bool {
	start := p.i
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
			continue
		}
		break
	}
	return p.i > start
}

// split splits a QName (Namespaces in XML §4) into prefix and local part; both are empty
// when name is not a QName.
func split(name string) (prefix, local string) {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		prefix, local = name[:i], name[i+1:]
		if !isNCName(prefix) || !isNCName(local) {
			return "", ""
		}
		return prefix, local
	}
	if !isNCName(name) {
		return "", ""
	}
	return "", name
}

// isNCName reports whether s is an XML name without colons (XML 1.0 §2.3, with every
// non-ASCII character accepted).
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r >= 0x80:
		case i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

func qname(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

// normalizeAttr applies attribute-value normalization for CDATA attributes (XML 1.0 §3.3.3):
// each literal white-space character becomes a space. Character references were already
// expanded by unescape and are kept.
func normalizeAttr(v string) string {
	if !strings.ContainsAny(v, "\t\r\n") {
		return v
	}
	return strings.NewReplacer("\r\n", " ", "\t", " ", "\r", " ", "\n", " ").Replace(v)
}

// unescape appends raw to b, expanding the predefined entities and character references.
func unescape(b *strings.Builder, raw []byte) error {
	for len(raw) > 0 {
		j := bytes.IndexByte(raw, '&')
		if j < 0 {
			b.Write(raw)
			return nil
		}
		b.Write(raw[:j])
		raw = raw[j:]
		k := bytes.IndexByte(raw, ';')
		if k < 0 {
			return errors.New("unterminated entity reference")
		}
		ref := string(raw[1:k])
		raw = raw[k+1:]
		switch ref {
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "amp":
			b.WriteByte('&')
		case "apos":
			b.WriteByte('\'')
		case "quot":
			b.WriteByte('"')
		default:
			if !strings.HasPrefix(ref, "#") {
				return fmt.Errorf("undefined entity &%s;", ref)
			}
			var n uint64
			var err error
			if strings.HasPrefix(ref, "#x") {
				n, err = strconv.ParseUint(ref[2:], 16, 32)
			} else {
				n, err = strconv.ParseUint(ref[1:], 10, 32)
			}
			if err != nil || !isChar(rune(n)) {
				return fmt.Errorf("bad character reference &%s;", ref)
			}
			b.WriteRune(rune(n))
		}
	}
	return nil
}

// isChar reports whether r is an XML 1.0 Char (§2.2).
func isChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
