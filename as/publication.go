package as

import "time"

// PublishRequest is one PUBLISH (RFC 3903) in domain terms; isc builds it from the wire.
type PublishRequest struct {
	// Presentity is the Request-URI as received; the agent canonicalizes it.
	Presentity string
	// Publisher is the identity the request is from: P-Asserted-Identity from a trusted
	// S-CSCF, else the From URI.
	Publisher string
	Event     string // Event header package token, "" when absent
	IfMatch   string // SIP-If-Match, "" when absent
	// Expires is the Expires header in seconds; -1 when absent (the configured default applies).
	Expires     int
	ContentType string // media type without parameters, lower case; "" with no body
	Body        []byte
}

// PublishResult is what a 200 OK to PUBLISH carries.
type PublishResult struct {
	ETag    string        // SIP-ETag of the publication (empty after a removal)
	Expires time.Duration // granted expiry (0 after a removal)
}
