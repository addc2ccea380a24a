package schema

import (
	"bytes"
	"context"
	"embed"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sync"
	"unicode/utf8"

	xsd "github.com/jacoelho/xsd"
	"github.com/jacoelho/xsd/xsderrors"

	"github.com/imsps/imsps/ut"
)

// The schemas imsps ships, written from the RFC texts (see README.md). Read-only.
//
//go:embed xsd/*.xsd
var library embed.FS

// Library returns the schemas imsps ships (xml.xsd, resource-lists.xsd, rls-services.xsd,
// common-policy.xsd, pres-rules.xsd, pidf.xsd, xcap-caps.xsd, xcap-directory.xsd), for
// Compile and for application usages that import them.
func Library() fs.FS {
	sub, err := fs.Sub(library, "xsd")
	if err != nil { // cannot happen: "xsd" is a valid embedded directory
		return library
	}
	return sub
}

// Conflict tags of RFC 4825 §11.
const (
	TagNotWellFormed = "not-well-formed"
	TagSchema        = "schema-validation-error"
	TagNotUTF8       = "not-utf-8"
	TagUniqueness    = "uniqueness-failure"
	TagConstraint    = "constraint-failure"
)

// Validator validates documents against one compiled schema set and one expected document
// element. It is safe for concurrent use.
type Validator struct {
	engine *xsd.Engine
	root   xml.Name
	// sessions reuses the validator's per-document buffers between calls.
	sessions sync.Pool
}

// Compile compiles files (names in fsys) into a Validator whose documents must have root as
// their document element. xs:import and xs:include locations resolve by base name, first in
// fsys, then in Library(); nothing is ever fetched from the network.
func Compile(ctx context.Context, root xml.Name, fsys fs.FS, files ...string) (*Validator, error) {
	if len(files) == 0 {
		return nil, errors.New("schema: no schema files")
	}
	if root.Local == "" {
		return nil, errors.New("schema: no document element")
	}
	res := resolver{fsys: fsys, lib: Library()}
	sources := make([]xsd.SchemaSource, 0, len(files))
	for _, name := range files {
		data, err := res.read(name)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		sources = append(sources, xsd.Bytes("imsps:"+name, data).WithResolver(res))
	}
	engine, err := xsd.Compile(ctx, sources...)
	if err != nil {
		return nil, fmt.Errorf("compile schema %v: %w", files, err)
	}
	v := &Validator{engine: engine, root: root}
	v.sessions.New = func() any {
		s, err := engine.NewSession(xsd.ValidateOptions{MaxErrors: 1})
		if err != nil {
			return nil
		}
		return s
	}
	return v, nil
}

// Root is the document element every valid document has.
func (v *Validator) Root() xml.Name { return v.root }

// Validate checks that body is a well-formed UTF-8 document whose document element is the
// expected one and that it is valid against the schema. It returns a *ut.Conflict
// (not-well-formed, not-utf-8 or schema-validation-error, with the path, line and message in
// the phrase) for an invalid document, ctx's error when cancelled, or another error for a
// fault of the validator.
func (v *Validator) Validate(ctx context.Context, body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &ut.Conflict{Tag: TagNotWellFormed, Phrase: "empty document"}
	}
	if !utf8.Valid(body) {
		return &ut.Conflict{Tag: TagNotUTF8, Phrase: "the document is not valid UTF-8"}
	}
	var err error
	if s, ok := v.sessions.Get().(*xsd.Session); ok && s != nil {
		err = s.Validate(ctx, bytes.NewReader(body))
		v.sessions.Put(s)
	} else {
		err = v.engine.Validate(ctx, bytes.NewReader(body))
	}
	if err != nil {
		return conflict(ctx, err)
	}
	// A schema set with several global elements (pres-rules declares its actions as global
	// elements) accepts any of them as a document; the usage accepts only its own root.
	got, err := rootName(body)
	if err != nil {
		return &ut.Conflict{Tag: TagNotWellFormed, Phrase: err.Error()}
	}
	if got != v.root {
		return &ut.Conflict{Tag: TagSchema, Phrase: fmt.Sprintf("/%s line 1: document element is {%s}%s, want {%s}%s",
			got.Local, got.Space, got.Local, v.root.Space, v.root.Local)}
	}
	return nil
}

// conflict maps a validator error to the RFC 4825 §11 condition it reports.
func conflict(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("validate: %w", ctx.Err())
	}
	var xerr *xsderrors.Error
	if !errors.As(err, &xerr) {
		return fmt.Errorf("validate: %w", err)
	}
	switch xerr.Category {
	case xsderrors.CategoryValidation:
		switch xerr.Code {
		case xsderrors.CodeValidationXML:
			return &ut.Conflict{Tag: TagNotWellFormed, Phrase: phrase(xerr)}
		case xsderrors.CodeValidationCanceled:
			return fmt.Errorf("validate: %w", err)
		case xsderrors.CodeValidationLimit:
			return &ut.Conflict{Tag: TagConstraint, Phrase: phrase(xerr)}
		}
		return &ut.Conflict{Tag: TagSchema, Phrase: phrase(xerr)}
	case xsderrors.CategoryUnsupported:
		switch xerr.Code {
		case xsderrors.CodeUnsupportedNonUTF8:
			return &ut.Conflict{Tag: TagNotUTF8, Phrase: phrase(xerr)}
		case xsderrors.CodeUnsupportedDTD, xsderrors.CodeUnsupportedEntity, xsderrors.CodeUnsupportedExternal,
			xsderrors.CodeUnsupportedXML11, xsderrors.CodeUnsupportedSchemaHint:
			return &ut.Conflict{Tag: TagSchema, Phrase: phrase(xerr)}
		}
	}
	return fmt.Errorf("validate: %w", err)
}

// phrase renders the validator's diagnostic as "<path> line <n>: <message>".
func phrase(e *xsderrors.Error) string {
	msg := e.Message
	if msg == "" {
		msg = string(e.Code)
	}
	where := e.Path
	if where == "" {
		where = "/"
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s line %d: %s", where, e.Line, msg)
	}
	return fmt.Sprintf("%s: %s", where, msg)
}

// rootName returns the namespace-resolved name of body's document element.
func rootName(body []byte) (xml.Name, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return xml.Name{}, errors.New("no document element")
		}
		if err != nil {
			return xml.Name{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}

// resolver finds imported schemas by base name in the usage's files, then in the library.
type resolver struct {
	fsys fs.FS
	lib  fs.FS
}

func (r resolver) read(name string) ([]byte, error) {
	base := path.Base(name)
	if r.fsys != nil {
		if data, err := fs.ReadFile(r.fsys, base); err == nil {
			return data, nil
		}
	}
	return fs.ReadFile(r.lib, base)
}

// ResolveSchema implements xsd.Resolver; only local, shipped schemas are ever returned.
func (r resolver) ResolveSchema(_ context.Context, _, location string) (xsd.SchemaSource, error) {
	data, err := r.read(location)
	if err != nil {
		return xsd.SchemaSource{}, fmt.Errorf("%s: %w", location, xsderrors.ErrSchemaNotFound)
	}
	return xsd.Bytes("imsps:"+path.Base(location), data), nil
}
