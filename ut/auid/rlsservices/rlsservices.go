package rlsservices

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/imsps/imsps/ut"
	"github.com/imsps/imsps/ut/auid/resourcelists"
	"github.com/imsps/imsps/ut/auid/schema"
	"github.com/imsps/imsps/ut/auid/xmltree"
)

// The registration values of RFC 4826 §4.4.1, §4.4.2 and §4.4.4.
const (
	AUID      = "rls-services"
	MediaType = "application/rls-services+xml"
	Namespace = "urn:ietf:params:xml:ns:rls-services"
	// IndexName is the global document that merges every user's services (§4.4.8).
	IndexName = "index"
)

// Usage is the rls-services application usage.
type Usage struct {
	schema *schema.Validator
}

var _ ut.AppUsage = (*Usage)(nil)

// New compiles the rls-services schema (once, at start-up) and returns the usage.
func New(ctx context.Context) (*Usage, error) {
	v, err := schema.Compile(ctx, xml.Name{Space: Namespace, Local: "rls-services"}, nil, "rls-services.xsd")
	if err != nil {
		return nil, fmt.Errorf("rls-services: %w", err)
	}
	return &Usage{schema: v}, nil
}

// AUID implements ut.AppUsage.
func (u *Usage) AUID() string { return AUID }

// MediaType implements ut.AppUsage.
func (u *Usage) MediaType() string { return MediaType }

// DefaultNamespace implements ut.AppUsage.
func (u *Usage) DefaultNamespace() string { return Namespace }

// Namespaces lists the namespaces of the usage's schema (for xcap-caps).
func (u *Usage) Namespaces() []string { return []string{Namespace, resourcelists.Namespace} }

// Check validates a user's rls-services document: the schema (RFC 4826 §4.4.3) and the
// constraints of §4.4.5: every service URI unique across the documents of all users
// (uniqueness-failure with alternatives), <resource-list> an absolute HTTP URI of a <list>
// under the owner's resource-lists tree, inline lists under the §3.4.5 rules. The global
// tree is written by the server only (§4.4.8).
func (u *Usage) Check(ctx context.Context, c ut.Candidate) error {
	if c.Key.Global() {
		return &ut.Conflict{Tag: schema.TagConstraint, Phrase: "RFC 4826 §4.4.8: the global rls-services documents are maintained by the server"}
	}
	if err := u.schema.Validate(ctx, c.Body); err != nil {
		return err
	}
	root, err := xmltree.Parse(c.Body)
	if err != nil {
		return &ut.Conflict{Tag: schema.TagNotWellFormed, Phrase: err.Error()}
	}
	services := root.Elements(Namespace, "service")
	for _, s := range services {
		if l := s.Elements(Namespace, "list"); len(l) > 0 {
			if err := resourcelists.CheckLists(l[0], Namespace); err != nil {
				return err
			}
		}
		if rl := s.Elements(Namespace, "resource-list"); len(rl) > 0 {
			if err := checkResourceList(rl[0], c.Key); err != nil {
				return err
			}
		}
	}
	return u.checkUnique(ctx, c, services)
}

// checkUnique enforces RFC 4826 §4.4.5: a service URI is used by one <service> of one
// document across all users.
func (u *Usage) checkUnique(ctx context.Context, c ut.Candidate, services []*xmltree.Element) error {
	taken := map[string]bool{}
	if c.Documents != nil {
		err := c.Documents.Each(ctx, AUID, func(key ut.DocumentKey, body []byte) error {
			if key == c.Key || key.Global() {
				return nil
			}
			root, err := xmltree.Parse(body)
			if err != nil {
				return nil // stored before validation existed; it holds no URI we can honour
			}
			for _, s := range root.Elements(Namespace, "service") {
				if uri, ok := s.Attr("uri"); ok {
					taken[resourcelists.URIKey(uri)] = true
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("rls-services: read other users' services: %w", err)
		}
	}
	mine := map[string]bool{}
	var dups []string
	for _, s := range services {
		uri, _ := s.Attr("uri")
		key := resourcelists.URIKey(uri)
		if taken[key] || mine[key] {
			dups = append(dups, uri)
		}
		mine[key] = true
	}
	if len(dups) == 0 {
		return nil
	}
	used := func(v string) bool { k := resourcelists.URIKey(v); return taken[k] || mine[k] }
	return &ut.Conflict{
		Tag:    schema.TagUniqueness,
		Phrase: "RFC 4826 §4.4.5: service URI " + dups[0] + " is already in use",
		Exists: []ut.Exists{{Field: "rls-services/service/@uri", AltValues: AltURIs(dups[0], used, 3)}},
	}
}

// AltURIs proposes up to n URIs like uri with "-2", "-3", ... appended to the user part
// (sip:friends@example.com → sip:friends-2@example.com) for which used is false.
func AltURIs(uri string, used func(string) bool, n int) []string {
	head, tail := uri, ""
	if at := strings.LastIndexByte(uri, '@'); at > 0 {
		head, tail = uri[:at], uri[at:]
	} else if i := strings.IndexAny(uri, ";?"); i > 0 {
		head, tail = uri[:i], uri[i:]
	}
	var out []string
	for i := 2; len(out) < n && i < 1000; i++ {
		alt := head + "-" + strconv.Itoa(i) + tail
		if !used(alt) {
			out = append(out, alt)
		}
	}
	return out
}

// checkResourceList applies RFC 4826 §4.4.5 to a <resource-list>: an absolute HTTP URI of
// an element in the resource-lists tree of the document's owner, selecting a <list>.
func checkResourceList(e *xmltree.Element, key ut.DocumentKey) error {
	fail := func(why string) error {
		return &ut.Conflict{Tag: schema.TagConstraint, Phrase: fmt.Sprintf("RFC 4826 §4.4.5: %s %s", e.Path(Namespace), why)}
	}
	raw := strings.TrimSpace(e.Text)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail("must be an absolute HTTP URI")
	}
	p := u.EscapedPath()
	doc, selector, ok := strings.Cut(p, "/~~/")
	if !ok {
		return fail("must select an element (a node selector after ~~)")
	}
	const tree = "/" + resourcelists.AUID + "/users/"
	i := strings.Index(doc, tree)
	if i < 0 {
		return fail("must point into the resource-lists users tree")
	}
	xui, _, _ := strings.Cut(doc[i+len(tree):], "/")
	if owner, err := url.PathUnescape(xui); err != nil || owner != key.XUI {
		return fail("must point to a list of the document's owner " + key.XUI)
	}
	steps := strings.Split(selector, "/")
	last, err := url.PathUnescape(steps[len(steps)-1])
	if err != nil {
		return fail("has a malformed node selector")
	}
	if j := strings.IndexByte(last, '['); j >= 0 {
		last = last[:j]
	}
	if j := strings.IndexByte(last, ':'); j >= 0 {
		last = last[j+1:]
	}
	if last != "list" {
		return fail("must select a <list> element")
	}
	return nil
}

// GlobalGenerator returns the generator of the global document "index" (RFC 4826 §4.4.8):
// the <service> elements of every user's documents, merged. The users tree is written by
// clients, so the usage itself is not a ut.Generator; the engine serves GETs of the global
// tree from this value.
func (u *Usage) GlobalGenerator() ut.Generator { return index{} }

// index generates rls-services/global/index.
type index struct{}

// Generate implements ut.Generator. It returns nil (no such document) for any other key.
func (index) Generate(ctx context.Context, key ut.DocumentKey, docs ut.DocumentReader) ([]byte, error) {
	if !key.Global() || key.Name != IndexName {
		return nil, nil
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<rls-services xmlns="` + Namespace + `">` + "\n")
	err := docs.Each(ctx, AUID, func(k ut.DocumentKey, body []byte) error {
		if k.Global() {
			return nil
		}
		root, err := xmltree.Parse(body)
		if err != nil || !root.Is(Namespace, "rls-services") {
			return nil
		}
		for _, s := range root.Elements(Namespace, "service") {
			s.Write(&b, "  ")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rls-services index: %w", err)
	}
	b.WriteString("</rls-services>\n")
	return b.Bytes(), nil
}
