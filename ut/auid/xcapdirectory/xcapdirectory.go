package xcapdirectory

import (
	"bytes"
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/imsps/imsps/ut"
	"github.com/imsps/imsps/ut/auid/schema"
)

// The registration values of the OMA XDM xcap-directory usage.
const (
	AUID      = "org.openmobilealliance.xcap-directory"
	MediaType = "application/vnd.oma.xcap-directory+xml"
	Namespace = "urn:oma:xml:xdm:xcap-directory"
	// DocumentName is the user's directory document.
	DocumentName = "directory.xml"
)

// ErrNoInfo is returned by Generate when the engine's document reader cannot list a user's
// documents with their ETags (it must implement ut.InfoReader).
var ErrNoInfo = errors.New("xcap-directory: the document reader does not list ETags (ut.InfoReader)")

// Usage is the xcap-directory application usage.
type Usage struct {
	schema *schema.Validator
	root   string
	usages func() []ut.AppUsage
}

var (
	_ ut.AppUsage      = (*Usage)(nil)
	_ ut.Generator     = (*Usage)(nil)
	_ ut.DocumentNamer = (*Usage)(nil)
)

// New returns the usage. root is the XCAP root URI the entries' URIs start with (for example
// "http://127.0.0.1:8080/xcap-root"; empty gives root-relative URIs). usages, when not nil,
// returns the registered application usages: every one that clients can write gets a folder,
// empty or not.
func New(ctx context.Context, root string, usages func() []ut.AppUsage) (*Usage, error) {
	if root != "" {
		u, err := url.Parse(root)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("%s: XCAP root %q is not an absolute URI", AUID, root)
		}
	}
	v, err := schema.Compile(ctx, xml.Name{Space: Namespace, Local: "xcap-directory"}, nil, "xcap-directory.xsd")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", AUID, err)
	}
	return &Usage{schema: v, root: strings.TrimSuffix(root, "/"), usages: usages}, nil
}

// AUID implements ut.AppUsage.
func (u *Usage) AUID() string { return AUID }

// MediaType implements ut.AppUsage.
func (u *Usage) MediaType() string { return MediaType }

// DefaultNamespace implements ut.AppUsage.
func (u *Usage) DefaultNamespace() string { return Namespace }

// Namespaces lists the namespace of the usage's schema.
func (u *Usage) Namespaces() []string { return []string{Namespace} }

// AllowName implements ut.DocumentNamer: each user has one document, directory.xml.
func (u *Usage) AllowName(key ut.DocumentKey) error {
	if key.Global() || key.Name != DocumentName {
		return &ut.Conflict{Tag: schema.TagConstraint, Phrase: "OMA XDM: the xcap-directory document is users/<xui>/" + DocumentName}
	}
	return nil
}

// Check validates a document against the xcap-directory schema. Clients cannot write the
// usage (the engine answers 405); Check serves tests and tools.
func (u *Usage) Check(ctx context.Context, c ut.Candidate) error {
	if err := u.AllowName(c.Key); err != nil {
		return err
	}
	return u.schema.Validate(ctx, c.Body)
}

// Generate implements ut.Generator: users/<xui>/directory.xml lists the user's documents in
// one <folder> per AUID, each <entry> with its URI, ETag (without the quotes of the HTTP
// header) and size. docs must implement ut.InfoReader (else ErrNoInfo). Other keys: no document.
func (u *Usage) Generate(ctx context.Context, key ut.DocumentKey, docs ut.DocumentReader) ([]byte, error) {
	if u.AllowName(key) != nil {
		return nil, nil
	}
	ir, ok := docs.(ut.InfoReader)
	if !ok {
		return nil, ErrNoInfo
	}
	folders := map[string][]ut.DocumentInfo{}
	if u.usages != nil {
		for _, au := range u.usages() {
			if _, generated := au.(ut.Generator); !generated {
				folders[au.AUID()] = nil
			}
		}
	}
	err := ir.EachInfo(ctx, key.XUI, func(d ut.DocumentInfo) error {
		if d.Key.AUID != AUID && d.Key.XUI == key.XUI {
			folders[d.Key.AUID] = append(folders[d.Key.AUID], d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s for %s: %w", AUID, key.XUI, err)
	}
	auids := make([]string, 0, len(folders))
	for a := range folders {
		auids = append(auids, a)
	}
	slices.Sort(auids)

	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<xcap-directory xmlns="` + Namespace + `">` + "\n")
	for _, a := range auids {
		entries := folders[a]
		slices.SortFunc(entries, func(x, y ut.DocumentInfo) int { return cmp.Compare(x.Key.Name, y.Key.Name) })
		b.WriteString(`  <folder auid="`)
		attr(&b, a)
		if len(entries) == 0 {
			b.WriteString("\"/>\n")
			continue
		}
		b.WriteString("\">\n")
		for _, d := range entries {
			b.WriteString(`    <entry uri="`)
			attr(&b, u.uri(d.Key))
			b.WriteString(`" etag="`)
			attr(&b, strings.Trim(d.ETag, `"`))
			b.WriteString(`" size="`)
			b.WriteString(strconv.Itoa(d.Size))
			b.WriteString("\"/>\n")
		}
		b.WriteString("  </folder>\n")
	}
	b.WriteString("</xcap-directory>\n")
	return b.Bytes(), nil
}

// uri is the document's XCAP URI (RFC 4825 §6): <root>/<auid>/users/<xui>/<name>.
func (u *Usage) uri(k ut.DocumentKey) string {
	segs := strings.Split(k.Name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return u.root + "/" + url.PathEscape(k.AUID) + "/users/" + url.PathEscape(k.XUI) + "/" + strings.Join(segs, "/")
}

func attr(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}
