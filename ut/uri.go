package ut

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// URI is an XCAP URI below the XCAP root (RFC 4825 §6): the document selector
// (AUID, global tree or a user's tree, document path), an optional node selector after
// "~~", and the namespace bindings of the xmlns() query (§6.4).
type URI struct {
	AUID string
	// XUI is the user (e.g. sip:alice@example.com), empty for the global tree.
	XUI string
	// Document is the document path below the user's (or the global) folder, segments
	// decoded and joined by "/"; empty when the URI names a folder.
	Document string
	// Node is the node selector, nil for a whole document.
	Node *NodeSelector
	// Namespaces are the prefix bindings of the xmlns() query.
	Namespaces map[string]string
}

// Key is the document the URI names.
func (u URI) Key() DocumentKey {
	return DocumentKey{AUID: u.AUID, XUI: u.XUI, Name: u.Document}
}

// URIError is an XCAP URI the server cannot accept: 400, or 404 when NotFound.
type URIError struct {
	Reason   string
	NotFound bool
}

func (e *URIError) Error() string { return "xcap uri: " + e.Reason }

func badURI(format string, args ...any) error {
	return &URIError{Reason: fmt.Sprintf(format, args...)}
}

// ParseURI parses a request target's path (as sent, still percent-encoded, starting with
// the root) and its raw query. root is the configured XCAP root path, e.g. "/xcap-root".
// Segments are split on literal "/" and decoded afterwards, so an encoded "/" stays inside
// its segment: allowed in the XUI and inside node-selector predicates, refused in the
// document path. ".." and "." segments are refused.
func ParseURI(root, rawPath, rawQuery string) (URI, error) {
	var u URI
	rest, ok := cutRoot(root, rawPath)
	if !ok {
		return u, &URIError{Reason: "not below the XCAP root", NotFound: true}
	}
	docPart, selPart, hasSel := strings.Cut(rest, "/~~/")
	if !hasSel && strings.HasSuffix(docPart, "/~~") {
		return u, badURI("empty node selector")
	}
	segs := strings.Split(docPart, "/")
	dec := make([]string, len(segs))
	for i, s := range segs {
		d, err := pathUnescape(s)
		if err != nil {
			return u, badURI("segment %d: %v", i+1, err)
		}
		if strings.IndexByte(d, 0) >= 0 {
			return u, badURI("NUL in path")
		}
		if d == "." || d == ".." {
			return u, badURI("%q segments are not allowed", d)
		}
		dec[i] = d
	}
	if len(dec) < 2 || dec[0] == "" {
		return u, &URIError{Reason: "no document selector", NotFound: true}
	}
	if strings.Contains(segs[0], "%2F") || strings.Contains(segs[0], "%2f") {
		return u, badURI("encoded '/' in the AUID")
	}
	u.AUID = dec[0]
	var docSegs, rawDoc []string
	switch dec[1] {
	case "global":
		docSegs, rawDoc = dec[2:], segs[2:]
	case "users":
		if len(dec) < 3 || dec[2] == "" {
			return u, &URIError{Reason: "no user in the users tree", NotFound: true}
		}
		u.XUI = dec[2]
		docSegs, rawDoc = dec[3:], segs[3:]
	default:
		return u, &URIError{Reason: `the tree is neither "global" nor "users"`, NotFound: true}
	}
	for i, s := range docSegs {
		if s == "" {
			if i == len(docSegs)-1 && !hasSel {
				// A trailing slash names a folder.
				docSegs = docSegs[:i]
				break
			}
			return u, badURI("empty segment in the document path")
		}
		if strings.Contains(rawDoc[i], "%2F") || strings.Contains(rawDoc[i], "%2f") {
			return u, badURI("encoded '/' in the document path")
		}
		if s == "~~" {
			return u, badURI(`"~~" must be followed by a node selector`)
		}
	}
	u.Document = strings.Join(docSegs, "/")
	if hasSel {
		if u.Document == "" {
			return u, badURI("node selector without a document")
		}
		ns, err := ParseNodeSelector(selPart)
		if err != nil {
			return u, err
		}
		u.Node = ns
	}
	if rawQuery != "" {
		b, err := parseXMLNSQuery(rawQuery)
		if err != nil {
			return u, err
		}
		u.Namespaces = b
	}
	return u, nil
}

func cutRoot(root, p string) (string, bool) {
	root = strings.TrimSuffix(root, "/")
	if !strings.HasPrefix(p, root+"/") {
		return "", false
	}
	return p[len(root)+1:], true
}

// parseXMLNSQuery parses the query of RFC 4825 §6.4: a sequence of XPointer xmlns()
// parts, xmlns(prefix=namespace-uri), with ^ escaping ^, ( and ).
func parseXMLNSQuery(raw string) (map[string]string, error) {
	q, err := queryUnescape(raw)
	if err != nil {
		return nil, badURI("query: %v", err)
	}
	out := map[string]string{}
	s := q
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			break
		}
		if !strings.HasPrefix(s, "xmlns(") {
			return nil, badURI("query: only xmlns() parts are allowed")
		}
		s = s[len("xmlns("):]
		var b strings.Builder
		closed := false
		depth := 0
		i := 0
		for ; i < len(s); i++ {
			c := s[i]
			if c == '^' {
				if i+1 >= len(s) || !strings.ContainsRune("^()", rune(s[i+1])) {
					return nil, badURI("query: bad ^ escape")
				}
				b.WriteByte(s[i+1])
				i++
				continue
			}
			if c == '(' {
				depth++
			}
			if c == ')' {
				if depth == 0 {
					closed = true
					break
				}
				depth--
			}
			b.WriteByte(c)
		}
		if !closed {
			return nil, badURI("query: unterminated xmlns()")
		}
		s = s[i+1:]
		prefix, uri, ok := strings.Cut(b.String(), "=")
		prefix = strings.TrimSpace(prefix)
		uri = strings.TrimSpace(uri)
		if p, rest := scanNCName(prefix); !ok || p == "" || rest != "" || uri == "" {
			return nil, badURI("query: xmlns(%s) is not prefix=namespace", b.String())
		}
		if prefix == "xml" || prefix == "xmlns" {
			return nil, badURI("query: prefix %q cannot be rebound", prefix)
		}
		out[prefix] = uri
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// String formats the URI path and query relative to the XCAP root (starting with "/").
func (u URI) String() string {
	var b strings.Builder
	b.WriteString("/")
	b.WriteString(pathEscape(u.AUID))
	if u.XUI == "" {
		b.WriteString("/global")
	} else {
		b.WriteString("/users/")
		b.WriteString(pathEscape(u.XUI))
	}
	if u.Document != "" {
		for _, s := range strings.Split(u.Document, "/") {
			b.WriteString("/")
			b.WriteString(pathEscape(s))
		}
	}
	if u.Node != nil {
		b.WriteString("/~~/")
		b.WriteString(u.Node.EscapedString())
	}
	if len(u.Namespaces) > 0 {
		b.WriteString("?")
		b.WriteString(formatXMLNSQuery(u.Namespaces))
	}
	return b.String()
}

func formatXMLNSQuery(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	esc := strings.NewReplacer("^", "^^", "(", "^(", ")", "^)")
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("xmlns(")
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(queryEscape(esc.Replace(m[k])))
		b.WriteString(")")
	}
	return b.String()
}

// pchar of RFC 3986 without percent-encoding: unreserved, sub-delims, ':' and '@'.
func isPchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

const hexDigits = "0123456789ABCDEF"

func pathEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isPchar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func queryEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (isPchar(c) || c == '/' || c == '?') && c != '&' && c != '+' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

var errBadEscape = errors.New("bad percent-encoding")

// pathUnescape decodes %XX; unlike url.PathUnescape it leaves '+' alone and accepts the
// characters clients send unencoded ('[', ']', '"', space).
func pathUnescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errBadEscape
		}
		v := unhexPair(s[i+1], s[i+2])
		if v < 0 {
			return "", errBadEscape
		}
		b = append(b, byte(v))
		i += 2
	}
	return string(b), nil
}

func queryUnescape(s string) (string, error) { return pathUnescape(s) }
