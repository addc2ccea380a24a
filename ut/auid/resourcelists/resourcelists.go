package resourcelists

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/imsps/imsps/ut"
	"github.com/imsps/imsps/ut/auid/schema"
	"github.com/imsps/imsps/ut/auid/xmltree"
)

// The registration values of RFC 4826 §3.4.1, §3.4.2 and §3.4.4.
const (
	AUID      = "resource-lists"
	MediaType = "application/resource-lists+xml"
	Namespace = "urn:ietf:params:xml:ns:resource-lists"
)

// Usage is the resource-lists application usage.
type Usage struct {
	schema *schema.Validator
}

var _ ut.AppUsage = (*Usage)(nil)

// New compiles the resource-lists schema (once, at start-up) and returns the usage.
func New(ctx context.Context) (*Usage, error) {
	v, err := schema.Compile(ctx, xml.Name{Space: Namespace, Local: "resource-lists"}, nil, "resource-lists.xsd")
	if err != nil {
		return nil, fmt.Errorf("resource-lists: %w", err)
	}
	return &Usage{schema: v}, nil
}

// AUID implements ut.AppUsage.
func (u *Usage) AUID() string { return AUID }

// MediaType implements ut.AppUsage.
func (u *Usage) MediaType() string { return MediaType }

// DefaultNamespace implements ut.AppUsage.
func (u *Usage) DefaultNamespace() string { return Namespace }

// Namespaces lists the namespaces the usage's schema defines (for xcap-caps).
func (u *Usage) Namespaces() []string { return []string{Namespace} }

// Check validates the document against the schema (RFC 4826 §3.4.3) and the constraints of
// §3.4.5: list names unique among sibling lists, entry URIs unique among sibling entries
// (URI equivalence), entry-ref refs unique and relative XCAP paths, external anchors
// unique and absolute HTTP URIs.
func (u *Usage) Check(ctx context.Context, c ut.Candidate) error {
	if err := u.schema.Validate(ctx, c.Body); err != nil {
		return err
	}
	root, err := xmltree.Parse(c.Body)
	if err != nil {
		return &ut.Conflict{Tag: schema.TagNotWellFormed, Phrase: err.Error()}
	}
	return CheckLists(root, Namespace)
}

// CheckLists applies the RFC 4826 §3.4.5 constraints to every <list> of the resource-lists
// format at or below parent (rls-services reuses them for its inline lists, §4.4.5).
// defaultNS is the document's XCAP default namespace, used to name the offending field. It
// returns a *ut.Conflict: constraint-failure for a malformed reference, uniqueness-failure
// (one <exists> per repeated field) otherwise.
func CheckLists(parent *xmltree.Element, defaultNS string) error {
	var exists []ut.Exists
	var failure error
	var walk func(e *xmltree.Element)
	walk = func(e *xmltree.Element) {
		exists = append(exists, checkSiblings(e, defaultNS, &failure)...)
		for _, c := range e.Children {
			if c.Space == Namespace && c.Local == "list" {
				walk(c)
			}
		}
	}
	walk(parent)
	if failure != nil {
		return failure
	}
	if len(exists) > 0 {
		return &ut.Conflict{Tag: schema.TagUniqueness, Phrase: "RFC 4826 §3.4.5: value already used in this list", Exists: exists}
	}
	return nil
}

// checkSiblings checks the children of one element (the resource-lists root or a list): a
// repeated list name, entry uri, entry-ref ref or external anchor is one <exists>; the first
// malformed reference is stored in *failure.
func checkSiblings(e *xmltree.Element, defaultNS string, failure *error) []ut.Exists {
	type field struct {
		attr, test string
		seen       map[string]bool
		dup        string // the first repeated value
	}
	var fields []*field // in order of first appearance
	byLocal := map[string]*field{}
	names := map[string]bool{} // list names, for alternatives
	for _, c := range e.Children {
		if c.Space != Namespace {
			continue
		}
		var attr string
		switch c.Local {
		case "list":
			attr = "name"
		case "entry":
			attr = "uri"
		case "entry-ref":
			attr = "ref"
		case "external":
			attr = "anchor"
		default:
			continue
		}
		v, ok := c.Attr(attr)
		if !ok {
			continue
		}
		if *failure == nil {
			*failure = checkReference(c, attr, v, defaultNS)
		}
		f := byLocal[c.Local]
		if f == nil {
			f = &field{attr: attr, test: c.NameTest(defaultNS), seen: map[string]bool{}}
			byLocal[c.Local] = f
			fields = append(fields, f)
		}
		key := v
		if attr == "name" {
			names[v] = true
		} else {
			key = URIKey(v)
		}
		if f.seen[key] && f.dup == "" {
			f.dup = v
		}
		f.seen[key] = true
	}
	var out []ut.Exists
	for _, f := range fields {
		if f.dup == "" {
			continue
		}
		ex := ut.Exists{Field: e.Path(defaultNS) + "/" + f.test + "/@" + f.attr}
		if f.attr == "name" {
			ex.AltValues = Alternatives(f.dup, func(s string) bool { return names[s] }, 3)
		}
		out = append(out, ex)
	}
	return out
}

// checkReference applies the URI form rules of RFC 4826 §3.4.5 to entry-ref and external.
func checkReference(c *xmltree.Element, attr, v, defaultNS string) error {
	fail := func(why string) error {
		return &ut.Conflict{Tag: schema.TagConstraint, Phrase: fmt.Sprintf("RFC 4826 §3.4.5: %s/@%s %s", c.Path(defaultNS), attr, why)}
	}
	switch c.Local {
	case "entry-ref":
		u, err := url.Parse(v)
		if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(v, "/") {
			return fail("must be a relative path reference from the XCAP root")
		}
		if !strings.HasPrefix(v, AUID+"/") || !strings.Contains(v, "/~~/") {
			return fail("must point to an <entry> of a resource-lists document")
		}
	case "external":
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fail("must be an absolute HTTP URI")
		}
	}
	return nil
}

// Alternatives proposes up to n values "<v>-2", "<v>-3", ... for which taken is false.
func Alternatives(v string, taken func(string) bool, n int) []string {
	var out []string
	for i := 2; len(out) < n && i < 1000; i++ {
		alt := v + "-" + strconv.Itoa(i)
		if !taken(alt) {
			out = append(out, alt)
		}
	}
	return out
}

// URIKey returns a comparison key under which equivalent URIs are equal: scheme and host
// are case-insensitive, percent-encoded unreserved characters equal their plain form
// (RFC 3986 §6.2.2), and tel: numbers ignore visual separators (RFC 3966 §5.1.1).
func URIKey(uri string) string {
	uri = strings.TrimSpace(normalizePercent(uri))
	i := strings.IndexByte(uri, ':')
	if i <= 0 {
		return uri
	}
	scheme, rest := strings.ToLower(uri[:i]), uri[i+1:]
	switch scheme {
	case "sip", "sips", "pres", "im", "mailto":
		// user@host;params: the user part is case-sensitive, the rest is not.
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			rest = rest[:at+1] + strings.ToLower(rest[at+1:])
		} else {
			rest = strings.ToLower(rest)
		}
	case "tel":
		num, params, _ := strings.Cut(rest, ";")
		num = strings.Map(func(r rune) rune {
			switch r {
			case '-', '.', '(', ')':
				return -1
			}
			return r
		}, num)
		rest = num
		if params != "" {
			rest += ";" + strings.ToLower(params)
		}
	case "http", "https":
		if strings.HasPrefix(rest, "//") {
			host, path, _ := strings.Cut(rest[2:], "/")
			rest = "//" + strings.ToLower(host)
			if path != "" || strings.HasSuffix(uri, "/") {
				rest += "/" + path
			}
		}
	}
	return scheme + ":" + rest
}

// normalizePercent decodes percent-encoded unreserved characters and upper-cases the hex
// digits of the others (RFC 3986 §6.2.2.1, §6.2.2.2).
func normalizePercent(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			c := unhex(s[i+1])<<4 | unhex(s[i+2])
			if isUnreserved(c) {
				b.WriteByte(c)
			} else {
				b.WriteByte('%')
				b.WriteString(strings.ToUpper(s[i+1 : i+3]))
			}
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
