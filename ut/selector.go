package ut

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NodeSelector is the part of an XCAP URI after "~~" (RFC 4825 §6.3): a path of element
// steps from the document element down, optionally ending in an attribute selector or the
// namespace selector.
type NodeSelector struct {
	Steps []Step
	// Attribute is set when the selector ends in "@name" (an attribute selector).
	Attribute *QName
	// Namespaces is set when the selector ends in "namespace::*" (RFC 4825 §6.3, §7.3).
	Namespaces bool
}

// QName is a possibly prefixed name as written in a node selector. Unprefixed element
// names are in the application usage's default namespace; unprefixed attribute names are
// in no namespace. Local is "*" for the wildcard step.
type QName struct {
	Prefix string
	Local  string
}

func (q QName) String() string {
	if q.Prefix == "" {
		return q.Local
	}
	return q.Prefix + ":" + q.Local
}

// Step is one element step: a name test, an optional position [n] (counting the siblings
// that pass the name test) and an optional attribute test [@a="v"].
type Step struct {
	Name        QName
	Position    int // the n of [n]; [0] is valid syntax that selects nothing
	HasPosition bool
	Attr        *AttrTest
}

// AttrTest is the predicate [@name="value"]; Value is the decoded attribute value.
type AttrTest struct {
	Name  QName
	Value string
}

// SelectorError is a malformed node selector, or one using a prefix the xmlns() query
// does not bind: the server answers 400 (RFC 4825 §6.3, §6.4).
type SelectorError struct {
	Selector string
	Reason   string
}

func (e *SelectorError) Error() string {
	return fmt.Sprintf("node selector %q: %s", e.Selector, e.Reason)
}

// splitSelector splits a raw (still percent-encoded) node selector on the literal "/" that
// separate steps, ignoring any "/" inside a predicate "[...]", so that clients that do not
// encode slashes inside attribute values still work.
func splitSelector(raw string) []string {
	var parts []string
	depth := 0
	var quote byte
	last := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '%' && i+2 < len(raw) && unhexPair(raw[i+1], raw[i+2]) == int(quote) {
				quote = 0
				i += 2
			}
		case c == '[':
			depth++
		case c == ']':
			if depth > 0 {
				depth--
			}
		case c == '"' || c == '\'':
			if depth > 0 {
				quote = c
			}
		case c == '%' && i+2 < len(raw):
			switch unhexPair(raw[i+1], raw[i+2]) {
			case '[':
				depth++
			case ']':
				if depth > 0 {
					depth--
				}
			case '"', '\'':
				if depth > 0 {
					quote = byte(unhexPair(raw[i+1], raw[i+2]))
				}
			}
			i += 2
		case c == '/' && depth == 0:
			parts = append(parts, raw[last:i])
			last = i + 1
		}
	}
	return append(parts, raw[last:])
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func unhexPair(a, b byte) int {
	x, y := unhex(a), unhex(b)
	if x < 0 || y < 0 {
		return -1
	}
	return x<<4 | y
}

// ParseNodeSelector parses a raw node selector as it appears in the request target
// (percent-encoded or not), splitting on literal "/" first and decoding each step after.
func ParseNodeSelector(raw string) (*NodeSelector, error) {
	bad := func(reason string, args ...any) error {
		return &SelectorError{Selector: raw, Reason: fmt.Sprintf(reason, args...)}
	}
	if raw == "" {
		return nil, bad("empty")
	}
	parts := splitSelector(raw)
	ns := &NodeSelector{}
	for i, p := range parts {
		seg, err := pathUnescape(p)
		if err != nil {
			return nil, bad("%v", err)
		}
		last := i == len(parts)-1
		switch {
		case seg == "namespace::*":
			if !last || i == 0 {
				return nil, bad("namespace::* must follow an element step and end the selector")
			}
			ns.Namespaces = true
		case strings.HasPrefix(seg, "@"):
			if !last || i == 0 {
				return nil, bad("an attribute selector must follow an element step and end the selector")
			}
			q, rest, ok := scanQName(seg[1:])
			if !ok || rest != "" || q.Local == "*" {
				return nil, bad("bad attribute selector %q", seg)
			}
			ns.Attribute = &q
		default:
			st, err := parseStep(seg)
			if err != nil {
				return nil, bad("step %q: %v", seg, err)
			}
			ns.Steps = append(ns.Steps, st)
		}
	}
	if len(ns.Steps) == 0 {
		return nil, bad("no element step")
	}
	return ns, nil
}

func parseStep(s string) (Step, error) {
	var st Step
	if strings.HasPrefix(s, "*") {
		st.Name = QName{Local: "*"}
		s = s[1:]
	} else {
		q, rest, ok := scanQName(s)
		if !ok {
			return st, fmt.Errorf("bad name")
		}
		st.Name, s = q, rest
	}
	if s == "" {
		return st, nil
	}
	if s[0] != '[' {
		return st, fmt.Errorf("unexpected %q", s)
	}
	// [n] first, when present.
	if len(s) > 1 && s[1] >= '0' && s[1] <= '9' {
		j := strings.IndexByte(s, ']')
		if j < 0 {
			return st, fmt.Errorf("unterminated position")
		}
		digits := s[1:j]
		if len(digits) > 9 || strings.TrimLeft(digits, "0123456789") != "" {
			return st, fmt.Errorf("bad position %q", digits)
		}
		n, _ := strconv.Atoi(digits)
		st.Position, st.HasPosition = n, true
		s = s[j+1:]
		if s == "" {
			return st, nil
		}
		if s[0] != '[' {
			return st, fmt.Errorf("unexpected %q", s)
		}
	}
	// [@name="value"]
	if len(s) < 2 || s[1] != '@' {
		return st, fmt.Errorf("unsupported predicate %q", s)
	}
	q, rest, ok := scanQName(s[2:])
	if !ok || q.Local == "*" {
		return st, fmt.Errorf("bad attribute name in predicate")
	}
	rest = strings.TrimLeft(rest, " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return st, fmt.Errorf("predicate needs =")
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return st, fmt.Errorf("attribute value must be quoted")
	}
	quote := rest[0]
	j := strings.IndexByte(rest[1:], quote)
	if j < 0 {
		return st, fmt.Errorf("unterminated attribute value")
	}
	val, err := decodeAttValue(rest[1 : 1+j])
	if err != nil {
		return st, err
	}
	rest = strings.TrimLeft(rest[2+j:], " \t\r\n")
	if rest != "]" {
		return st, fmt.Errorf("unexpected %q after predicate", rest)
	}
	st.Attr = &AttrTest{Name: q, Value: val}
	return st, nil
}

// scanQName reads a QName (NCName or NCName:NCName) from the start of s.
func scanQName(s string) (QName, string, bool) {
	n1, rest := scanNCName(s)
	if n1 == "" {
		return QName{}, s, false
	}
	if strings.HasPrefix(rest, ":") {
		n2, rest2 := scanNCName(rest[1:])
		if n2 == "" {
			return QName{}, s, false
		}
		return QName{Prefix: n1, Local: n2}, rest2, true
	}
	return QName{Local: n1}, rest, true
}

func isNameStart(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || (r > 0x7f && !unicode.IsSpace(r) && !unicode.IsPunct(r) && unicode.IsPrint(r))
}

func isNameChar(r rune) bool {
	return isNameStart(r) || r == '-' || r == '.' || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func scanNCName(s string) (string, string) {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		if i == 0 && !isNameStart(r) || i > 0 && !isNameChar(r) {
			break
		}
		i += n
	}
	return s[:i], s[i:]
}

// decodeAttValue decodes the content of an XML AttValue (without its quotes): character
// and predefined entity references; '<' and a bare '&' are not allowed.
func decodeAttValue(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("attribute value is not UTF-8")
	}
	if !strings.ContainsAny(s, "&<") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '<' {
			return "", fmt.Errorf("'<' in attribute value")
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		j := strings.IndexByte(s[i:], ';')
		if j < 0 {
			return "", fmt.Errorf("bare '&' in attribute value")
		}
		ref := s[i+1 : i+j]
		switch ref {
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "amp":
			b.WriteByte('&')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			var n uint64
			var err error
			switch {
			case strings.HasPrefix(ref, "#x"):
				n, err = strconv.ParseUint(ref[2:], 16, 32)
			case strings.HasPrefix(ref, "#"):
				n, err = strconv.ParseUint(ref[1:], 10, 32)
			default:
				return "", fmt.Errorf("unknown entity &%s;", ref)
			}
			if err != nil || !isXMLChar(rune(n)) || strings.HasPrefix(ref, "#x+") || strings.HasPrefix(ref, "#+") {
				return "", fmt.Errorf("bad character reference &%s;", ref)
			}
			b.WriteRune(rune(n))
		}
		i += j
	}
	return b.String(), nil
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// escapeAttValue writes v as the content of a double-quoted AttValue.
func escapeAttValue(v string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;")
	return r.Replace(v)
}

func (st Step) String() string {
	var b strings.Builder
	b.WriteString(st.Name.String())
	if st.HasPosition {
		b.WriteString("[")
		b.WriteString(strconv.Itoa(st.Position))
		b.WriteString("]")
	}
	if st.Attr != nil {
		b.WriteString(`[@`)
		b.WriteString(st.Attr.Name.String())
		b.WriteString(`="`)
		b.WriteString(escapeAttValue(st.Attr.Value))
		b.WriteString(`"]`)
	}
	return b.String()
}

// String formats the selector unescaped, as XPath would read it.
func (ns *NodeSelector) String() string {
	parts := ns.segments()
	return strings.Join(parts, "/")
}

// segments is the selector as path segments (not percent-encoded).
func (ns *NodeSelector) segments() []string {
	var parts []string
	for _, st := range ns.Steps {
		parts = append(parts, st.String())
	}
	if ns.Attribute != nil {
		parts = append(parts, "@"+ns.Attribute.String())
	}
	if ns.Namespaces {
		parts = append(parts, "namespace::*")
	}
	return parts
}

// EscapedString formats the selector for a URI path, each step percent-encoded.
func (ns *NodeSelector) EscapedString() string {
	parts := ns.segments()
	for i := range parts {
		parts[i] = pathEscape(parts[i])
	}
	return strings.Join(parts, "/")
}

// prefix returns a selector of the first n steps (used for no-parent ancestors).
func (ns *NodeSelector) prefix(n int) *NodeSelector {
	return &NodeSelector{Steps: ns.Steps[:n]}
}

// nameSpace is the namespace context for evaluating a selector: the application usage's
// default namespace for unprefixed element names and the xmlns() query bindings.
type nameSpace struct {
	defaultNS string
	bindings  map[string]string
}

// resolve maps a selector QName to its namespace URI.
func (c nameSpace) resolve(q QName, element bool) (string, error) {
	switch {
	case q.Prefix == "" && element:
		return c.defaultNS, nil
	case q.Prefix == "":
		return "", nil
	case q.Prefix == "xml":
		return nsXML, nil
	}
	uri, ok := c.bindings[q.Prefix]
	if !ok {
		return "", fmt.Errorf("prefix %q is not bound by an xmlns() query", q.Prefix)
	}
	return uri, nil
}

// check resolves every prefix of the selector up front, so an unbound prefix is a 400.
func (c nameSpace) check(ns *NodeSelector) error {
	for _, st := range ns.Steps {
		if st.Name.Local != "*" {
			if _, err := c.resolve(st.Name, true); err != nil {
				return &SelectorError{Selector: ns.String(), Reason: err.Error()}
			}
		}
		if st.Attr != nil {
			if _, err := c.resolve(st.Attr.Name, false); err != nil {
				return &SelectorError{Selector: ns.String(), Reason: err.Error()}
			}
		}
	}
	if ns.Attribute != nil {
		if _, err := c.resolve(*ns.Attribute, false); err != nil {
			return &SelectorError{Selector: ns.String(), Reason: err.Error()}
		}
	}
	return nil
}

// nameMatches is the step's name test.
func (c nameSpace) nameMatches(st Step, e *xelem) bool {
	if st.Name.Local == "*" {
		return true
	}
	uri, err := c.resolve(st.Name, true)
	return err == nil && e.local == st.Name.Local && e.space == uri
}

// stepSelect applies one step to the children of parent and returns every match.
func (c nameSpace) stepSelect(st Step, parent *xelem) []*xelem {
	var named []*xelem
	for _, ch := range parent.children {
		if c.nameMatches(st, ch) {
			named = append(named, ch)
		}
	}
	if st.HasPosition {
		if st.Position < 1 || st.Position > len(named) {
			return nil
		}
		named = named[st.Position-1 : st.Position]
	}
	if st.Attr == nil {
		return named
	}
	uri, err := c.resolve(st.Attr.Name, false)
	if err != nil {
		return nil
	}
	var out []*xelem
	for _, e := range named {
		if a := e.attr(uri, st.Attr.Name.Local); a != nil && a.value == st.Attr.Value {
			out = append(out, e)
		}
	}
	return out
}

// walk evaluates steps from the document node. It returns the element selected by all
// steps (nil if a step selects none or several) and how many leading steps selected
// exactly one element.
func (c nameSpace) walk(d *xdoc, steps []Step) (*xelem, int) {
	cur := d.top
	for i, st := range steps {
		m := c.stepSelect(st, cur)
		if len(m) != 1 {
			return nil, i
		}
		cur = m[0]
	}
	return cur, len(steps)
}

// attribute finds the attribute named by the selector's attribute step on e.
func (c nameSpace) attribute(e *xelem, q QName) *xattr {
	uri, err := c.resolve(q, false)
	if err != nil {
		return nil
	}
	return e.attr(uri, q.Local)
}
