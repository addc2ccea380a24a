package pidfmanip

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"

	"github.com/imsps/imsps/ut"
	"github.com/imsps/imsps/ut/auid/schema"
)

// The registration values of RFC 4827 §4, §5, §6 and §9.
const (
	AUID      = "pidf-manipulation"
	MediaType = "application/pidf+xml"
	Namespace = "urn:ietf:params:xml:ns:pidf"
	// DocumentName is the only document of a user (§9).
	DocumentName = "index"
)

// ChangeFunc receives a user's hard-state presence document after a committed write: the
// new body, or nil when the document was deleted. The wiring passes the presence agent's
// hard-state setter.
type ChangeFunc func(ctx context.Context, xui string, body []byte) error

// Usage is the pidf-manipulation application usage.
type Usage struct {
	schema   *schema.Validator
	onChange ChangeFunc
	log      *slog.Logger
}

var (
	_ ut.AppUsage       = (*Usage)(nil)
	_ ut.DocumentNamer  = (*Usage)(nil)
	_ ut.ChangeObserver = (*Usage)(nil)
)

// New compiles the PIDF schema (once, at start-up) and returns the usage. onChange is called
// after every committed write of a user's "index" document (nil: nobody is told); its errors
// are logged on log, because the write itself has succeeded.
func New(ctx context.Context, onChange ChangeFunc, log *slog.Logger) (*Usage, error) {
	if log == nil {
		return nil, fmt.Errorf("%s: nil logger", AUID)
	}
	v, err := schema.Compile(ctx, xml.Name{Space: Namespace, Local: "presence"}, nil, "pidf.xsd")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", AUID, err)
	}
	return &Usage{schema: v, onChange: onChange, log: log.With("component", "ut", "auid", AUID)}, nil
}

// AUID implements ut.AppUsage.
func (u *Usage) AUID() string { return AUID }

// MediaType implements ut.AppUsage.
func (u *Usage) MediaType() string { return MediaType }

// DefaultNamespace implements ut.AppUsage (RFC 4827 §6).
func (u *Usage) DefaultNamespace() string { return Namespace }

// Namespaces lists the namespaces of the usage's schema (for xcap-caps).
func (u *Usage) Namespaces() []string { return []string{Namespace} }

// AllowName implements ut.DocumentNamer: one document per user, "index", in the users tree
// (RFC 4827 §9); the usage has no global documents.
func (u *Usage) AllowName(key ut.DocumentKey) error {
	if key.Global() {
		return &ut.Conflict{Tag: schema.TagConstraint, Phrase: "RFC 4827 §9: pidf-manipulation has no global documents"}
	}
	if key.Name != DocumentName {
		return &ut.Conflict{Tag: schema.TagConstraint, Phrase: "RFC 4827 §9: the presence document is named " + DocumentName}
	}
	return nil
}

// Check validates the document against PIDF (RFC 3863 §4; RFC 4827 §6-§7 add no constraint).
// Extension elements (RFC 4479 data model, RFC 4480 RPID, RFC 4482 CIPID, ...) are accepted
// where PIDF allows extensions.
func (u *Usage) Check(ctx context.Context, c ut.Candidate) error {
	if err := u.AllowName(c.Key); err != nil {
		return err
	}
	return u.schema.Validate(ctx, c.Body)
}

// Changed implements ut.ChangeObserver: the user's hard state changed (RFC 4827 §3), so the
// presence agent re-composes and notifies watchers. body is nil after a DELETE.
func (u *Usage) Changed(ctx context.Context, key ut.DocumentKey, body []byte) {
	if u.onChange == nil || key.Global() || key.Name != DocumentName {
		return
	}
	if err := u.onChange(ctx, key.XUI, body); err != nil {
		u.log.LogAttrs(ctx, slog.LevelError, "hard-state presence not applied",
			slog.String("xui", key.XUI), slog.Bool("deleted", body == nil), slog.String("err", err.Error()))
	}
}
