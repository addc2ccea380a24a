package as

import "time"

// SubscribeRequest is one SUBSCRIBE (RFC 6665) in domain terms; isc builds it from the wire.
// A request with Dialog.LocalTag empty creates a subscription; with a tag it refreshes or
// ends the one that dialog holds (ErrNoSuchSubscription when none).
type SubscribeRequest struct {
	Dialog Dialog
	// Resource is the Request-URI of an initial SUBSCRIBE as received.
	Resource string
	// Watcher is the subscriber identity: P-Asserted-Identity from a trusted S-CSCF, else From.
	Watcher string
	Event   string   // Event package token, "" when absent
	EventID string   // Event id parameter, "" when absent
	Accept  []string // media types of the Accept header, lower case, no parameters; nil when absent
	// Expires is the Expires header in seconds; -1 when absent.
	Expires int
	// ChargingVector is P-Charging-Vector, echoed in NOTIFYs.
	ChargingVector string
}

// Dialog is the subscription dialog state the notifier needs to send in-dialog NOTIFYs
// (RFC 3261 §12, RFC 6665 §4.1), as seen from imsps (the notifier).
type Dialog struct {
	CallID    string
	LocalTag  string // our To-tag; empty in an initial SUBSCRIBE
	RemoteTag string // the watcher's From-tag
	// LocalURI and RemoteURI are the name-addr values of our From and the watcher's To in
	// NOTIFYs, without tags.
	LocalURI  string
	RemoteURI string
	// RemoteTarget is the watcher's Contact URI.
	RemoteTarget string
	// RouteSet is the Record-Route of the SUBSCRIBE in order (URIs in angle brackets as received).
	RouteSet []string
	// Transport is the transport the SUBSCRIBE arrived on ("udp", "tcp").
	Transport string
	// Source is the host:port the SUBSCRIBE came from.
	Source string
}

// SubscribeResult is what a 200 OK to SUBSCRIBE carries.
type SubscribeResult struct {
	LocalTag string        // To-tag of the dialog
	Expires  time.Duration // granted expiry; 0 for a fetch or an unsubscribe
	// Activate lets the agent send the NOTIFY that follows this SUBSCRIBE (full state, or the
	// final one for a fetch or an unsubscribe). The adapter calls it once the 200 is on the
	// wire, so that the 200 precedes the NOTIFY; it is never nil on success and is idempotent.
	Activate func()
}

// SubscriptionState is the Subscription-State header value (RFC 6665 §8.2.3).
type SubscriptionState string

// Subscription states.
const (
	StateActive     SubscriptionState = "active"
	StatePending    SubscriptionState = "pending"
	StateTerminated SubscriptionState = "terminated"
)

// Notification is one NOTIFY the agent asks the notifier to send.
type Notification struct {
	Dialog Dialog
	CSeq   uint32 // allocated by the agent, strictly increasing within the dialog
	Event  string
	// EventID is echoed in the Event header's id parameter.
	EventID string
	State   SubscriptionState
	Expires time.Duration // remaining, for active/pending
	Reason  string        // for terminated: timeout, noresource, rejected, deactivated, ...
	// ChargingVector is the P-Charging-Vector kept from the SUBSCRIBE.
	ChargingVector string
	ContentType    string
	Body           []byte
}
