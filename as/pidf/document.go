package pidf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// Namespaces this package knows by name.
const (
	NS          = "urn:ietf:params:xml:ns:pidf"            // RFC 3863 §4.1
	NSDataModel = "urn:ietf:params:xml:ns:pidf:data-model" // RFC 4479
	NSRPID      = "urn:ietf:params:xml:ns:pidf:rpid"       // RFC 4480
	nsXML       = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS     = "http://www.w3.org/2000/xmlns/"
)

// Limits Parse enforces before and while reading a body.
const (
	MaxSize     = 128 << 10 // bytes of one document
	MaxDepth    = 32        // element nesting, the presence element is depth 1
	MaxElements = 4096      // elements in one document
)

// Document is a parsed and validated PIDF presence document (RFC 3863) with RFC 4479/4480 data.
// A Document is never modified after Parse returns it and may be shared between goroutines.
type Document struct {
	// Entity is the presence element's entity attribute (RFC 3863 §4.1.2).
	Entity string
	// Elements are the children of the presence element in document order, each kept
	// as parsed XML with a self-contained serialization.
	Elements []Element
}

// Kind classifies a child element of the presence element.
type Kind uint8

// Kinds of presence children.
const (
	KindTuple     Kind = iota + 1 // pidf:tuple (RFC 3863 §4.1.3)
	KindNote                      // pidf:note directly under presence (RFC 3863 §4.1.7)
	KindPerson                    // dm:person (RFC 4479)
	KindDevice                    // dm:device (RFC 4479)
	KindExtension                 // any other element (RFC 3863 extensibility)
)

func (k Kind) String() string {
	switch k {
	case KindTuple:
		return "tuple"
	case KindNote:
		return "note"
	case KindPerson:
		return "person"
	case KindDevice:
		return "device"
	case KindExtension:
		return "extension"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Element is one child of the presence element.
type Element struct {
	Kind  Kind
	ID    string // id attribute of a tuple, person or device; "" otherwise
	Space string // namespace URI
	Local string // local name
	// XML is the element serialized so that it declares every namespace it uses,
	// except the PIDF namespace as default namespace, which a composed document
	// declares on its root. Comments and processing instructions are dropped.
	XML []byte
}

// Tree parses e.XML into an element tree (for policy filters that look inside an element).
// The tree is a fresh copy; the PIDF default namespace is declared on its root.
func (e Element) Tree() (*etree.Element, error) {
	d := etree.NewDocument()
	d.ReadSettings = etree.ReadSettings{MaxDepth: MaxDepth}
	if err := d.ReadFromBytes(e.XML); err != nil {
		return nil, fmt.Errorf("pidf element %s: %w", e.Local, err)
	}
	root := d.Root()
	if root == nil {
		return nil, fmt.Errorf("pidf element %s: empty", e.Local)
	}
	if root.SelectAttr("xmlns") == nil {
		root.Attr = append([]etree.Attr{{Key: "xmlns", Value: NS}}, root.Attr...)
	}
	return root, nil
}

// ParseError says why a body is not an acceptable PIDF document.
type ParseError struct{ Reason string }

func (e *ParseError) Error() string { return e.Reason }

func parseErrorf(format string, args ...any) *ParseError {
	return &ParseError{Reason: fmt.Sprintf(format, args...)}
}

// errCharset is returned by the decoder's charset hook: only UTF-8 is accepted
// (RFC 3863 §4.1, application/pidf+xml).
var errCharset = errors.New("only UTF-8 is accepted")

// Parse reads and validates a PIDF document. The error is a *ParseError whose Reason
// says what is wrong. A DTD (<!DOCTYPE) is rejected, so no entity is ever expanded.
func Parse(body []byte) (*Document, error) {
	if len(body) > MaxSize {
		return nil, parseErrorf("document is %d bytes, above the limit of %d", len(body), MaxSize)
	}
	if !utf8.Valid(body) {
		return nil, parseErrorf("not well-formed XML: not UTF-8")
	}
	if bytes.Contains(body, []byte("<!DOCTYPE")) {
		return nil, parseErrorf("DTD (<!DOCTYPE) not allowed")
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{
		PreserveDuplicateAttrs: true,
		MaxDepth:               MaxDepth,
		CharsetReader: func(charset string, _ io.Reader) (io.Reader, error) {
			return nil, fmt.Errorf("encoding %q: %w", charset, errCharset)
		},
	}
	if err := doc.ReadFromBytes(body); err != nil {
		if errors.Is(err, etree.ErrMaxDepth) {
			return nil, parseErrorf("elements nested deeper than %d levels", MaxDepth)
		}
		return nil, parseErrorf("not well-formed XML: %v", err)
	}
	var root *etree.Element
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			if root != nil {
				return nil, parseErrorf("not well-formed XML: more than one root element")
			}
			root = t
		case *etree.Directive:
			return nil, parseErrorf("DTD or other <!%s> declaration not allowed", firstWord(t.Data))
		case *etree.CharData:
			if !t.IsWhitespace() {
				return nil, parseErrorf("not well-formed XML: text outside the root element")
			}
		}
	}
	if root == nil {
		return nil, parseErrorf("not well-formed XML: no root element")
	}
	p := parser{scope: []binding{{prefix: "xml", uri: nsXML}, {prefix: "", uri: ""}}, size: len(body)}
	if err := p.check(root, 1); err != nil {
		return nil, err
	}
	return p.document(root)
}

func firstWord(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		s = s[:i]
	}
	if len(s) > 16 {
		s = s[:16]
	}
	return s
}

// binding is one namespace declaration in scope; prefix "" is the default namespace.
type binding struct{ prefix, uri string }

type parser struct {
	scope    []binding // innermost last
	elements int
	rootEnd  int // len(scope) after the presence element's own declarations
	size     int // bytes of the body
}

func (p *parser) lookup(prefix string) (string, bool) {
	for i := len(p.scope) - 1; i >= 0; i-- {
		if p.scope[i].prefix == prefix {
			return p.scope[i].uri, true
		}
	}
	return "", false
}

// check enforces namespace well-formedness (Namespaces in XML 1.0 §3, §5) on e and its
// subtree, drops comments and processing instructions, and rejects directives.
// It leaves the presence element's declarations in p.scope when depth is 1.
func (p *parser) check(e *etree.Element, depth int) error {
	p.elements++
	if p.elements > MaxElements {
		return parseErrorf("more than %d elements", MaxElements)
	}
	mark := len(p.scope)
	for _, a := range e.Attr {
		switch {
		case a.Space == "xmlns":
			switch {
			case a.Key == "xmlns":
				return parseErrorf("prefix xmlns must not be declared")
			case a.Key == "xml" && a.Value != nsXML, a.Key != "xml" && a.Value == nsXML:
				return parseErrorf("prefix xml is bound only to %s", nsXML)
			case a.Value == "":
				return parseErrorf("prefix %q declared with an empty namespace name", a.Key)
			case a.Value == nsXMLNS:
				return parseErrorf("namespace %s must not be declared", nsXMLNS)
			case !validNCName(a.Key):
				return parseErrorf("prefix %q is not an NCName", a.Key)
			}
			p.scope = append(p.scope, binding{prefix: a.Key, uri: a.Value})
		case a.Space == "" && a.Key == "xmlns":
			if a.Value == nsXML || a.Value == nsXMLNS {
				return parseErrorf("namespace %s must not be the default namespace", a.Value)
			}
			p.scope = append(p.scope, binding{prefix: "", uri: a.Value})
		}
	}
	for i := mark; i < len(p.scope); i++ {
		for j := mark; j < i; j++ {
			if p.scope[i].prefix == p.scope[j].prefix {
				return parseErrorf("namespace prefix %q declared twice on <%s>", p.scope[i].prefix, e.FullTag())
			}
		}
	}
	if !validNCName(e.Tag) || (e.Space != "" && !validNCName(e.Space)) {
		return parseErrorf("element name <%s> is not a qualified name", e.FullTag())
	}
	if _, ok := p.lookup(e.Space); !ok {
		return parseErrorf("undeclared namespace prefix %q on <%s>", e.Space, e.FullTag())
	}
	for i, a := range e.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		if !validNCName(a.Key) || (a.Space != "" && !validNCName(a.Space)) {
			return parseErrorf("attribute name %s on <%s> is not a qualified name", a.FullKey(), e.FullTag())
		}
		uri := ""
		if a.Space != "" {
			var ok bool
			if uri, ok = p.lookup(a.Space); !ok {
				return parseErrorf("undeclared namespace prefix %q on attribute %s", a.Space, a.FullKey())
			}
		}
		for _, b := range e.Attr[:i] {
			if b.Space == "xmlns" || (b.Space == "" && b.Key == "xmlns") || b.Key != a.Key {
				continue
			}
			buri, _ := p.lookup(b.Space)
			if b.Space == "" {
				buri = ""
			}
			if buri == uri {
				return parseErrorf("duplicate attribute %s on <%s>", a.FullKey(), e.FullTag())
			}
		}
	}
	n := len(e.Child)
	kept := e.Child[:0]
	for _, t := range e.Child {
		switch t := t.(type) {
		case *etree.Element:
			if err := p.check(t, depth+1); err != nil {
				return err
			}
		case *etree.Directive:
			return parseErrorf("DTD or other <!%s> declaration not allowed", firstWord(t.Data))
		case *etree.Comment, *etree.ProcInst:
			continue
		}
		kept = append(kept, t)
	}
	if len(kept) != n {
		clear(e.Child[len(kept):n])
		e.Child = kept
		e.ReindexChildren()
	}
	if depth == 1 {
		p.rootEnd = len(p.scope)
		return nil
	}
	p.scope = p.scope[:mark]
	return nil
}

// document validates the PIDF structure below the (namespace-checked) presence element
// and serializes its children.
func (p *parser) document(root *etree.Element) (*Document, error) {
	rootScope := p.scope[:p.rootEnd]
	if uri := root.NamespaceURI(); uri != NS || root.Tag != "presence" {
		return nil, parseErrorf("root element is {%s}%s, want {%s}presence", uri, root.Tag, NS)
	}
	entity := attr(root, "entity")
	if entity == nil {
		return nil, parseErrorf("missing entity attribute")
	}
	if strings.TrimSpace(entity.Value) == "" {
		return nil, parseErrorf("empty entity attribute")
	}
	var lang string
	for _, a := range root.Attr {
		if a.Space == "xml" && a.Key == "lang" {
			lang = a.Value
		}
	}
	d := &Document{Entity: entity.Value, Elements: make([]Element, 0, len(root.Child)/2+1)}
	ids := make(map[string]Kind, 4)
	var buf bytes.Buffer // one backing array for every element's XML
	buf.Grow(p.size + p.size/4 + 256)
	ends := make([]int, 0, len(root.Child)/2+1)
	for _, c := range root.ChildElements() {
		el := Element{Space: c.NamespaceURI(), Local: c.Tag}
		switch {
		case el.Space == NS && el.Local == "tuple":
			el.Kind = KindTuple
			if err := checkTuple(c); err != nil {
				return nil, err
			}
		case el.Space == NS && el.Local == "note":
			el.Kind = KindNote
			if len(c.ChildElements()) > 0 {
				return nil, parseErrorf("note contains elements; RFC 3863 §4.1.7 allows text only")
			}
		case el.Space == NS:
			return nil, parseErrorf("unexpected element {%s}%s in presence (RFC 3863 §4.1.2)", NS, el.Local)
		case el.Space == NSDataModel && el.Local == "person":
			el.Kind = KindPerson
		case el.Space == NSDataModel && el.Local == "device":
			el.Kind = KindDevice
		default:
			el.Kind = KindExtension
		}
		if el.Kind == KindTuple || el.Kind == KindPerson || el.Kind == KindDevice {
			id, err := elementID(c, el.Kind)
			if err != nil {
				return nil, err
			}
			if prev, dup := ids[id]; dup {
				return nil, parseErrorf("duplicate id %q (on a %s and a %s): ids are xs:ID, unique within a document (RFC 3863 §4.1.3, RFC 4479)", id, prev, el.Kind)
			}
			ids[id] = el.Kind
			el.ID = id
		}
		serialize(&buf, c, rootScope, lang)
		ends = append(ends, buf.Len())
		d.Elements = append(d.Elements, el)
	}
	all, start := buf.Bytes(), 0
	for i, end := range ends {
		d.Elements[i].XML = all[start:end:end]
		start = end
	}
	return d, nil
}

// attr returns e's unprefixed attribute key, or nil.
func attr(e *etree.Element, key string) *etree.Attr {
	for i := range e.Attr {
		if e.Attr[i].Space == "" && e.Attr[i].Key == key {
			return &e.Attr[i]
		}
	}
	return nil
}

func elementID(c *etree.Element, k Kind) (string, error) {
	id := attr(c, "id")
	if id == nil {
		return "", parseErrorf("%s without id", k)
	}
	if !validNCName(id.Value) {
		return "", parseErrorf("%s id %q is not a valid xs:ID", k, id.Value)
	}
	return id.Value, nil
}

// checkTuple applies RFC 3863 §4.1.3-§4.1.8 to a tuple: one status with at most one
// basic (open or closed), at most one contact (priority a qvalue), at most one timestamp.
func checkTuple(t *etree.Element) error {
	var id string
	if a := attr(t, "id"); a != nil {
		id = a.Value
	}
	var status, contact, timestamp int
	for _, c := range t.ChildElements() {
		if c.NamespaceURI() != NS {
			continue
		}
		switch c.Tag {
		case "status":
			status++
			if err := checkStatus(c, id); err != nil {
				return err
			}
		case "contact":
			contact++
			if pr := attr(c, "priority"); pr != nil && !validQValue(pr.Value) {
				return parseErrorf("tuple %q: contact priority %q is not a qvalue between 0 and 1 (RFC 3863 §4.1.6)", id, pr.Value)
			}
		case "timestamp":
			timestamp++
			if !validDateTime(strings.TrimSpace(c.Text())) {
				return parseErrorf("tuple %q: timestamp %q is not an xs:dateTime (RFC 3863 §4.1.8)", id, c.Text())
			}
		case "note":
		default:
			return parseErrorf("tuple %q: unexpected element {%s}%s (RFC 3863 §4.1.3)", id, NS, c.Tag)
		}
	}
	switch {
	case status == 0:
		return parseErrorf("tuple %q without status (RFC 3863 §4.1.3)", id)
	case status > 1:
		return parseErrorf("tuple %q has %d status elements, want one (RFC 3863 §4.1.3)", id, status)
	case contact > 1:
		return parseErrorf("tuple %q has %d contact elements, want at most one (RFC 3863 §4.1.3)", id, contact)
	case timestamp > 1:
		return parseErrorf("tuple %q has %d timestamp elements, want at most one (RFC 3863 §4.1.3)", id, timestamp)
	}
	return nil
}

func checkStatus(s *etree.Element, id string) error {
	basic := 0
	for _, c := range s.ChildElements() {
		if c.NamespaceURI() != NS {
			continue
		}
		if c.Tag != "basic" {
			return parseErrorf("tuple %q: unexpected element {%s}%s in status (RFC 3863 §4.1.4)", id, NS, c.Tag)
		}
		basic++
		if v := strings.TrimSpace(c.Text()); v != "open" && v != "closed" {
			return parseErrorf("tuple %q: basic is %q, want open or closed (RFC 3863 §4.1.5)", id, v)
		}
	}
	if basic > 1 {
		return parseErrorf("tuple %q has %d basic elements, want at most one (RFC 3863 §4.1.5)", id, basic)
	}
	return nil
}

var writeSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}

// serialize writes a presence child with the declarations it inherits from the presence
// element: every bound prefix it uses (in names, or as "prefix:" in text and attribute
// values, for QName content), the default namespace unless it is the PIDF namespace,
// and xml:lang when the presence element carries one.
func serialize(buf *bytes.Buffer, c *etree.Element, rootScope []binding, lang string) {
	own := func(prefix string) bool {
		for _, a := range c.Attr {
			if (prefix == "" && a.Space == "" && a.Key == "xmlns") || (prefix != "" && a.Space == "xmlns" && a.Key == prefix) {
				return true
			}
		}
		return false
	}
	attrs := make([]etree.Attr, 0, len(c.Attr)+4)
	handled := make([]string, 0, 8)
	// innermost binding first, each prefix once
	for i := len(rootScope) - 1; i >= 0; i-- {
		b := rootScope[i]
		if slices.Contains(handled, b.prefix) {
			continue
		}
		handled = append(handled, b.prefix)
		switch {
		case b.prefix == "xml" || own(b.prefix):
		case b.prefix == "":
			if b.uri != NS && usesDefault(c) {
				attrs = append(attrs, etree.Attr{Key: "xmlns", Value: b.uri})
			}
		case uses(c, b.prefix):
			attrs = append(attrs, etree.Attr{Space: "xmlns", Key: b.prefix, Value: b.uri})
		}
	}
	slices.Reverse(attrs) // declarations in the presence element's order
	if lang != "" && c.SelectAttr("xml:lang") == nil {
		attrs = append(attrs, etree.Attr{Space: "xml", Key: "lang", Value: lang})
	}
	c.Attr = append(attrs, c.Attr...)
	c.WriteTo(buf, &etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true})
}

// uses reports whether prefix appears in an element or attribute name of e's subtree,
// or as "prefix:" inside text or an attribute value (QName-valued content).
func uses(e *etree.Element, prefix string) bool {
	if e.Space == prefix {
		return true
	}
	for _, a := range e.Attr {
		if a.Space == prefix || (a.Space != "xmlns" && hasQNamePrefix(a.Value, prefix)) {
			return true
		}
	}
	for _, t := range e.Child {
		switch t := t.(type) {
		case *etree.Element:
			if uses(t, prefix) {
				return true
			}
		case *etree.CharData:
			if hasQNamePrefix(t.Data, prefix) {
				return true
			}
		}
	}
	return false
}

// usesDefault reports whether an element name in e's subtree is unprefixed.
func usesDefault(e *etree.Element) bool {
	if e.Space == "" {
		return true
	}
	for _, t := range e.Child {
		if c, ok := t.(*etree.Element); ok && usesDefault(c) {
			return true
		}
	}
	return false
}

func hasQNamePrefix(s, prefix string) bool {
	for {
		i := strings.Index(s, prefix)
		if i < 0 {
			return false
		}
		end := i + len(prefix)
		if end < len(s) && s[end] == ':' && (i == 0 || !isNameByte(s[i-1])) {
			return true
		}
		s = s[i+1:]
	}
}

func isNameByte(b byte) bool {
	return b >= 0x80 || b == '_' || b == '-' || b == '.' || b == ':' ||
		(b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}

// validNCName reports whether s is an XML NCName, the lexical space of xs:ID.
func validNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (r == '-' || r == '.' || unicode.IsDigit(r) ||
			unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nl, unicode.Lm) || r == 0xB7):
		default:
			return false
		}
	}
	return true
}

// validQValue accepts RFC 3863 §4.1.6 priorities: 0 to 1 with up to three decimals.
func validQValue(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	intPart, frac, dot := strings.Cut(s, ".")
	if intPart != "0" && intPart != "1" {
		return false
	}
	if dot && len(frac) > 3 {
		return false
	}
	for _, r := range frac {
		if r < '0' || r > '9' || (intPart == "1" && r != '0') {
			return false
		}
	}
	return true
}

// validDateTime checks the xs:dateTime lexical form: [-]YYYY-MM-DDThh:mm:ss[.s+][Z|(+|-)hh:mm].
func validDateTime(s string) bool {
	s = strings.TrimPrefix(s, "-")
	date, clock, ok := strings.Cut(s, "T")
	if !ok || len(clock) < 8 {
		return false
	}
	if len(date) < 10 || date[len(date)-6] != '-' || date[len(date)-3] != '-' || !digits(date[:len(date)-6]) ||
		!digits(date[len(date)-5:len(date)-3]) || !digits(date[len(date)-2:]) {
		return false
	}
	if _, err := time.Parse("2006-01-02", "2000"+date[len(date)-6:]); err != nil { // 2000 is a leap year
		return false
	}
	if clock[2] != ':' || clock[5] != ':' || !digits(clock[:2]) || !digits(clock[3:5]) || !digits(clock[6:8]) {
		return false
	}
	if clock[:2] > "24" || clock[3:5] > "59" || clock[6:8] > "60" {
		return false
	}
	rest := clock[8:]
	if strings.HasPrefix(rest, ".") {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	switch {
	case rest == "" || rest == "Z":
		return true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' && digits(rest[1:3]) && digits(rest[4:6]):
		return rest[1:3] <= "14" && rest[4:6] <= "59"
	}
	return false
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Source is one live soft-state publication (RFC 3903) of a presentity.
type Source struct {
	ID        string // publication id (entity-tag)
	Doc       *Document
	Published time.Time
}
