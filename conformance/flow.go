package conformance

// Flow is one signalling flow: a sequence of steps between actors and the server under test.
type Flow struct {
	Name string // short identifier, e.g. "publish-m1-m14"
	// Spec names the document and section the flow comes from.
	Spec  string
	Steps []Step
}

// Step is one message exchange. Exactly one of SIP, Notify and HTTP is set.
type Step struct {
	Label  string // the flow's message label, e.g. "M1/M2"
	SIP    *SIPRequest
	Notify *NotifyExpect
	HTTP   *HTTPRequest
}

// Header is one header field to send.
type Header struct{ Name, Value string }

// SIPRequest sends a request from an actor to the server and checks the final response.
//
// Values may use ${domain}, ${aor:NAME} (the SIP URI of a run-unique user NAME) and
// ${var:NAME} (a value saved by an earlier step).
type SIPRequest struct {
	Actor  string // sender; it also receives the NOTIFYs of the dialogs it creates
	Method string // PUBLISH or SUBSCRIBE
	To     string // the resource, e.g. ${aor:presentity}
	From   string // the sender's identity, e.g. ${aor:watcher}
	// Dialog names the subscription dialog: a 2xx to a SUBSCRIBE with a new name creates it,
	// a SUBSCRIBE with a known name is sent inside it.
	Dialog string
	// ToTag forces a To-tag, for requests in a dialog the server never created.
	ToTag       string
	Headers     []Header
	ContentType string
	Body        string
	Expect      Expect
}

// NotifyExpect waits for the next NOTIFY in an actor's dialog and answers it 200.
type NotifyExpect struct {
	Actor  string
	Dialog string
	// State is a regular expression the Subscription-State header must match.
	State string
	// BodyHas and BodyLacks are substrings the body must and must not contain.
	BodyHas   []string
	BodyLacks []string
}

// HTTPRequest sends an XCAP (or plain HTTP) request. Path is below the XCAP root and may use
// ${xui} (the configured XCAP user's identity) besides the SIP substitutions.
type HTTPRequest struct {
	Method      string
	Path        string
	Headers     []Header
	ContentType string
	Body        string
	Expect      Expect
}

// Expect checks a response.
type Expect struct {
	Status int
	// Headers maps a header name to a regular expression its value must match.
	Headers map[string]string
	// BodyHas lists substrings the body must contain.
	BodyHas []string
	// Save maps a variable name to a header whose value later steps use as ${var:NAME}.
	Save map[string]string
}
