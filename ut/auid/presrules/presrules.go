package presrules

import (
	"context"
	"encoding/xml"
	"fmt"

	"github.com/imsps/imsps/ut"
	"github.com/imsps/imsps/ut/auid/schema"
	"github.com/imsps/imsps/ut/auid/xmltree"
)

// The registration values of RFC 5025 §9.1-§9.4; the OMA usage differs only in its AUID.
const (
	AUID      = "pres-rules"
	OMAAUID   = "org.openmobilealliance.pres-rules"
	MediaType = "application/auth-policy+xml"
	// Namespace is the pres-rules namespace, the XCAP default namespace of the usage.
	Namespace = "urn:ietf:params:xml:ns:pres-rules"
	// CommonPolicyNamespace is the namespace of the <ruleset> document element (RFC 4745).
	CommonPolicyNamespace = "urn:ietf:params:xml:ns:common-policy"
)

// Usage is the pres-rules application usage under one AUID.
type Usage struct {
	auid   string
	schema *schema.Validator
}

var _ ut.AppUsage = (*Usage)(nil)

// New compiles the common-policy and pres-rules schemas (once, at start-up) and returns the
// usage registered under auid: AUID ("pres-rules") or OMAAUID
// ("org.openmobilealliance.pres-rules").
func New(ctx context.Context, auid string) (*Usage, error) {
	if auid != AUID && auid != OMAAUID {
		return nil, fmt.Errorf("pres-rules: AUID %q is neither %s nor %s", auid, AUID, OMAAUID)
	}
	v, err := schema.Compile(ctx, xml.Name{Space: CommonPolicyNamespace, Local: "ruleset"}, nil,
		"common-policy.xsd", "pres-rules.xsd")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", auid, err)
	}
	return &Usage{auid: auid, schema: v}, nil
}

// AUID implements ut.AppUsage.
func (u *Usage) AUID() string { return u.auid }

// MediaType implements ut.AppUsage.
func (u *Usage) MediaType() string { return MediaType }

// DefaultNamespace implements ut.AppUsage (RFC 5025 §9.4): unprefixed node-selector steps are
// pres-rules elements; common-policy steps need a prefix bound with xmlns().
func (u *Usage) DefaultNamespace() string { return Namespace }

// Namespaces lists the namespaces of the usage's schemas (for xcap-caps).
func (u *Usage) Namespaces() []string { return []string{CommonPolicyNamespace, Namespace} }

// Check validates the document against common-policy (RFC 4745 §13) with the pres-rules
// elements (RFC 5025 §3, §10) wherever the common-policy extension points allow them. The
// XML ID type of rule/@id makes rule IDs unique (RFC 4745 §7); RFC 5025 §9.5 adds no other
// constraint.
//
// The common-policy extension points validate laxly, so an element of the pres-rules
// namespace that RFC 5025 does not define would pass the schema; Check refuses it.
func (u *Usage) Check(ctx context.Context, c ut.Candidate) error {
	if err := u.schema.Validate(ctx, c.Body); err != nil {
		return err
	}
	root, err := xmltree.Parse(c.Body)
	if err != nil {
		return &ut.Conflict{Tag: schema.TagNotWellFormed, Phrase: err.Error()}
	}
	return checkKnown(root)
}

// known reports whether RFC 5025 §10 defines local in the pres-rules namespace.
func known(local string) bool {
	switch local {
	case "sub-handling", "provide-services", "provide-persons", "provide-devices",
		"all-services", "all-persons", "all-devices", "service-uri", "service-uri-scheme",
		"occurrence-id", "class", "deviceID", "provide-activities", "provide-class",
		"provide-deviceID", "provide-mood", "provide-place-is", "provide-place-type",
		"provide-privacy", "provide-relationship", "provide-status-icon", "provide-sphere",
		"provide-time-offset", "provide-user-input", "provide-note",
		"provide-unknown-attribute", "provide-all-attributes":
		return true
	}
	return false
}

func checkKnown(e *xmltree.Element) error {
	if e.Space == Namespace && !known(e.Local) {
		return &ut.Conflict{Tag: schema.TagSchema, Phrase: fmt.Sprintf(
			"%s: RFC 5025 defines no element %s in %s", e.Path(Namespace), e.Local, Namespace)}
	}
	for _, c := range e.Children {
		if err := checkKnown(c); err != nil {
			return err
		}
	}
	return nil
}
