package as

import (
	"errors"
	"time"
)

// Outcomes the presence core reports; isc/status.go maps each to a SIP status.
var (
	// ErrNotServed: the presentity's domain is not one this server serves (404).
	ErrNotServed = errors.New("domain not served here")
	// ErrBadEvent: the Event package is missing or not supported (489, RFC 6665 §8.2.4 / RFC 3903 §6).
	ErrBadEvent = errors.New("unsupported event package")
	// ErrNoSuchETag: SIP-If-Match names no live publication (412, RFC 3903 §6).
	ErrNoSuchETag = errors.New("no publication with that entity-tag")
	// ErrUnsupportedMediaType: the PUBLISH body type is not one the event package takes (415).
	ErrUnsupportedMediaType = errors.New("unsupported media type")
	// ErrNotAcceptable: none of the watcher's Accept types can be produced (406).
	ErrNotAcceptable = errors.New("no acceptable body type")
	// ErrNoSuchSubscription: an in-dialog request matches no subscription (481).
	ErrNoSuchSubscription = errors.New("no such subscription")
	// ErrForbidden: the requester may not do this (403), e.g. publish for another presentity.
	ErrForbidden = errors.New("forbidden")
	// ErrTooLarge: a body exceeds presence.max_body_size (413, RFC 3261 §21.4.11).
	ErrTooLarge = errors.New("body too large")
	// ErrOverloaded: a queue is full; answer 503 with Retry-After.
	ErrOverloaded = errors.New("overloaded")
)

// IntervalTooBriefError is returned when a requested expiry is below the minimum (423 with Min-Expires).
type IntervalTooBriefError struct{ Min time.Duration }

func (e *IntervalTooBriefError) Error() string {
	return "interval too brief, minimum " + e.Min.String()
}

// BadRequestError is returned for a malformed body or request (400); Reason says what is wrong
// and becomes the Warning text.
type BadRequestError struct{ Reason string }

func (e *BadRequestError) Error() string { return "bad request: " + e.Reason }
