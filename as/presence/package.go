package presence

import (
	"time"

	"github.com/imsps/imsps/as/pidf"
)

// Event is the Event header token of this package (RFC 3856 §6.1).
const Event = "presence"

// MediaType is the body type of PUBLISH and NOTIFY requests (RFC 3863).
const MediaType = "application/pidf+xml"

// Package is the presence event package. Its zero value is ready to use; it satisfies
// as.EventPackage (the agent registers it by default).
type Package struct{}

// New returns the presence event package.
func New() *Package { return &Package{} }

// Event returns "presence".
func (*Package) Event() string { return Event }

// PublishTypes lists the PUBLISH body types accepted (RFC 3903 §6 step 6: 415 otherwise).
func (*Package) PublishTypes() []string { return []string{MediaType} }

// NotifyType is the NOTIFY body type; a SUBSCRIBE whose Accept lacks it gets 406.
func (*Package) NotifyType() string { return MediaType }

// Decode parses a published PIDF document (or the hard-state document, id "") into the
// state the composer takes. A malformed document returns a *pidf.ParseError.
func (*Package) Decode(id string, body []byte, published time.Time) (any, error) {
	doc, err := pidf.Parse(body)
	if err != nil {
		return nil, err
	}
	return pidf.Source{ID: id, Doc: doc, Published: published}, nil
}

// Body composes the NOTIFY body for resource: the hard state (nil when none) and the soft
// states, oldest publication first, each as Decode returned it.
func (*Package) Body(resource string, hard any, soft []any) []byte {
	var hardDoc *pidf.Document
	if h, ok := hard.(pidf.Source); ok {
		hardDoc = h.Doc
	}
	srcs := make([]pidf.Source, 0, len(soft))
	for _, s := range soft {
		if src, ok := s.(pidf.Source); ok {
			srcs = append(srcs, src)
		}
	}
	return pidf.Compose(resource, hardDoc, srcs)
}
