package as

import "time"

// EventPackage is one SIP event package (RFC 6665 §7) the agent serves: its Event token,
// the bodies PUBLISH may carry (RFC 3903 §4), and how a NOTIFY body is built from the
// resource's state. Package presence is the first one; NewAgent registers it by default and
// WithPackages replaces the set. Implementations need not import as: every method uses
// built-in types only, so the agent can register presence without an import cycle.
type EventPackage interface {
	// Event is the Event header token, e.g. "presence".
	Event() string
	// PublishTypes lists the media types a PUBLISH body may have (lower case); empty means
	// the package takes no PUBLISH (489).
	PublishTypes() []string
	// NotifyType is the media type of NOTIFY bodies; a SUBSCRIBE whose Accept lacks it gets 406.
	NotifyType() string
	// Decode parses a published body (id is the publication's stable id; "" for hard state)
	// into the state Body takes. A non-nil error becomes a 400 with the error text as reason.
	Decode(id string, body []byte, published time.Time) (any, error)
	// Body builds the NOTIFY body for resource from its hard state (nil when none) and its
	// live soft states, oldest publication first.
	Body(resource string, hard any, soft []any) []byte
}

// Option configures an Agent beyond its Config; for embedders and tests.
type Option func(*options)

type options struct {
	packages []EventPackage
	clock    Clock
}

// WithPackages sets the event packages the agent serves, replacing the default (presence).
func WithPackages(p ...EventPackage) Option {
	return func(o *options) { o.packages = append([]EventPackage(nil), p...) }
}

// WithClock injects time: tests pass a fake; the default is the system clock (which
// testing/synctest already fakes inside a bubble).
func WithClock(c Clock) Option {
	return func(o *options) { o.clock = c }
}

// Clock is the agent's source of time: the current instant and a resettable timer.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the one timer the agent's scheduler sleeps on.
type Timer interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
func (systemClock) NewTimer(d time.Duration) Timer {
	return systemTimer{time.NewTimer(d)}
}

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time   { return t.t.C }
func (t systemTimer) Reset(d time.Duration) { t.t.Reset(d) }
func (t systemTimer) Stop()                 { t.t.Stop() }
