package xcapcaps

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"slices"

	"github.com/imsps/imsps/ut"
	"github.com/imsps/imsps/ut/auid/schema"
)

// The registration values of RFC 4825 §12.2-§12.6.
const (
	AUID      = "xcap-caps"
	MediaType = "application/xcap-caps+xml"
	Namespace = "urn:ietf:params:xml:ns:xcap-caps"
	// DocumentName is the only document, in the global tree (§12.6).
	DocumentName = "index"
	// ErrorNamespace is the namespace of the server's 409 bodies (RFC 4825 §11.1).
	ErrorNamespace = "urn:ietf:params:xml:ns:xcap-error"
)

// namespacer is implemented by usages whose schemas define more than their default namespace.
type namespacer interface {
	Namespaces() []string
}

// Usage is the xcap-caps application usage.
type Usage struct {
	schema *schema.Validator
	usages func() []ut.AppUsage
}

var (
	_ ut.AppUsage      = (*Usage)(nil)
	_ ut.Generator     = (*Usage)(nil)
	_ ut.DocumentNamer = (*Usage)(nil)
)

// New returns the usage. usages returns the application usages registered with the server
// (this one included), read on every GET so that the document always matches the registry.
func New(ctx context.Context, usages func() []ut.AppUsage) (*Usage, error) {
	if usages == nil {
		return nil, fmt.Errorf("%s: nil registry", AUID)
	}
	v, err := schema.Compile(ctx, xml.Name{Space: Namespace, Local: "xcap-caps"}, nil, "xcap-caps.xsd")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", AUID, err)
	}
	return &Usage{schema: v, usages: usages}, nil
}

// AUID implements ut.AppUsage.
func (u *Usage) AUID() string { return AUID }

// MediaType implements ut.AppUsage.
func (u *Usage) MediaType() string { return MediaType }

// DefaultNamespace implements ut.AppUsage (§12.4).
func (u *Usage) DefaultNamespace() string { return Namespace }

// Namespaces lists the namespace of the usage's schema.
func (u *Usage) Namespaces() []string { return []string{Namespace} }

// AllowName implements ut.DocumentNamer: only global/index exists (§12.6).
func (u *Usage) AllowName(key ut.DocumentKey) error {
	if !key.Global() || key.Name != DocumentName {
		return &ut.Conflict{Tag: schema.TagConstraint, Phrase: "RFC 4825 §12.6: the only xcap-caps document is global/index"}
	}
	return nil
}

// Check validates a document against the xcap-caps schema (§12.3). Clients cannot write the
// usage (the engine answers 405); Check serves tests and tools.
func (u *Usage) Check(ctx context.Context, c ut.Candidate) error {
	if err := u.AllowName(c.Key); err != nil {
		return err
	}
	return u.schema.Validate(ctx, c.Body)
}

// Generate implements ut.Generator: global/index lists every registered AUID, and the
// namespaces of their schemas plus the xcap-error namespace (§12.1). Other keys: no document.
func (u *Usage) Generate(_ context.Context, key ut.DocumentKey, _ ut.DocumentReader) ([]byte, error) {
	if u.AllowName(key) != nil {
		return nil, nil
	}
	var auids []string
	namespaces := []string{ErrorNamespace}
	for _, au := range u.usages() {
		auids = append(auids, au.AUID())
		namespaces = append(namespaces, au.DefaultNamespace())
		if n, ok := au.(namespacer); ok {
			namespaces = append(namespaces, n.Namespaces()...)
		}
	}
	slices.Sort(auids)
	auids = slices.Compact(auids)
	slices.Sort(namespaces)
	namespaces = slices.Compact(namespaces)

	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<xcap-caps xmlns="` + Namespace + `">` + "\n  <auids>\n")
	for _, a := range auids {
		b.WriteString("    <auid>")
		_ = xml.EscapeText(&b, []byte(a))
		b.WriteString("</auid>\n")
	}
	b.WriteString("  </auids>\n  <namespaces>\n")
	for _, n := range namespaces {
		if n == "" {
			continue
		}
		b.WriteString("    <namespace>")
		_ = xml.EscapeText(&b, []byte(n))
		b.WriteString("</namespace>\n")
	}
	b.WriteString("  </namespaces>\n</xcap-caps>\n")
	return b.Bytes(), nil
}
