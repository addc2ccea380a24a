package pidf

import "time"

// Document is a parsed and validated PIDF presence document (RFC 3863) with RFC 4479/4480 data.
type Document struct {
	// Entity is the presence element's entity attribute (RFC 3863 §4.1.1).
	Entity string
	// Elements are the children of the presence element in document order, each kept
	// as parsed XML with a self-contained serialization.
	Elements []Element
}

// Kind classifies a child element of the presence element.
type Kind uint8

// Kinds of presence children.
const (
	KindTuple     Kind = iota + 1 // pidf:tuple (RFC 3863 §4.1.2)
	KindNote                      // pidf:note (RFC 3863 §4.1.6)
	KindPerson                    // dm:person (RFC 4479 §3.3)
	KindDevice                    // dm:device (RFC 4479 §3.4)
	KindExtension                 // any other namespace (RFC 3863 §4.4)
)

// Element is one child of the presence element.
type Element struct {
	Kind  Kind
	ID    string // id attribute of a tuple, person or device; "" otherwise
	Space string // namespace URI
	Local string // local name
	// XML is the element serialized so that it declares every namespace it uses,
	// except the PIDF default namespace, which a composed document declares on its root.
	XML []byte
}

// ParseError says why a body is not an acceptable PIDF document.
type ParseError struct{ Reason string }

func (e *ParseError) Error() string { return e.Reason }

// Parse reads and validates a PIDF document. The error is a *ParseError.
func Parse(body []byte) (*Document, error) {
	return nil, &ParseError{Reason: "not implemented"}
}

// Source is one live soft-state publication (RFC 3903) of a presentity.
type Source struct {
	ID        string // publication id (entity-tag)
	Doc       *Document
	Published time.Time
}
