package ut

import "strings"

// Conflict is an XCAP error condition of RFC 4825 §11: the server answers 409 with an
// application/xcap-error+xml body whose child element is Tag.
type Conflict struct {
	// Tag is the error element of the urn:ietf:params:xml:ns:xcap-error namespace:
	// not-well-formed, not-xml-frag, no-parent, schema-validation-error, not-xml-att-value,
	// cannot-insert, cannot-delete, uniqueness-failure, constraint-failure, not-utf-8.
	Tag string
	// Phrase is the optional human-readable phrase attribute.
	Phrase string
	// Ancestor is the URI of the closest existing ancestor (no-parent only).
	Ancestor string
	// Exists lists the fields that must be unique (uniqueness-failure only).
	Exists []Exists
}

// Exists is one <exists> child of <uniqueness-failure> (RFC 4825 §11.2): the node selector
// of the conflicting field relative to the document, with alternative values that would work.
type Exists struct {
	Field     string
	AltValues []string
}

func (c *Conflict) Error() string {
	var b strings.Builder
	b.WriteString("xcap conflict: ")
	b.WriteString(c.Tag)
	if c.Phrase != "" {
		b.WriteString(": ")
		b.WriteString(c.Phrase)
	}
	for _, e := range c.Exists {
		b.WriteString(" (")
		b.WriteString(e.Field)
		b.WriteString(" exists)")
	}
	return b.String()
}
