package isc

// This file is the only place in isc that looks SIP headers up by name. sipgo parses a
// handful of headers (Via, From, To, Call-ID, CSeq, Contact, Content-Type, Content-Length,
// Route, Record-Route) and maps their compact forms; every other header is a generic one
// under the name the peer used, so the compact forms of RFC 3261 §7.3.3 and RFC 6665 §8.2
// ("o" for Event, "u" for Allow-Events) are resolved here.

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Header names imsps reads or writes that sipgo has no typed header for.
const (
	hdrEvent             = "Event"
	hdrAllowEvents       = "Allow-Events"
	hdrExpires           = "Expires"
	hdrMinExpires        = "Min-Expires"
	hdrSIPETag           = "SIP-ETag"
	hdrSIPIfMatch        = "SIP-If-Match"
	hdrAccept            = "Accept"
	hdrAllow             = "Allow"
	hdrWarning           = "Warning"
	hdrRetryAfter        = "Retry-After"
	hdrSubscriptionState = "Subscription-State"
	hdrAssertedIdentity  = "P-Asserted-Identity"
	hdrChargingVector    = "P-Charging-Vector"
	hdrRecordRoute       = "Record-Route"
	hdrRoute             = "Route"
	hdrServer            = "Server"
	hdrUserAgent         = "User-Agent"
	hdrSupported         = "Supported"
	hdrRequire           = "Require"
)

// compactForm returns the single-letter form of a header name (RFC 3261 §7.3.3 and the
// IANA SIP header registry), or "" when there is none. name must be lower case.
func compactForm(lower string) string {
	switch lower {
	case "call-id":
		return "i"
	case "contact":
		return "m"
	case "content-encoding":
		return "e"
	case "content-length":
		return "l"
	case "content-type":
		return "c"
	case "from":
		return "f"
	case "subject":
		return "s"
	case "supported":
		return "k"
	case "to":
		return "t"
	case "via":
		return "v"
	case "event":
		return "o"
	case "allow-events":
		return "u"
	case "refer-to":
		return "r"
	case "referred-by":
		return "b"
	case "session-expires":
		return "x"
	case "accept-contact":
		return "a"
	case "reject-contact":
		return "j"
	case "request-disposition":
		return "d"
	case "identity":
		return "y"
	}
	return ""
}

// headerValues returns the values of every header field called name (or its compact form)
// in message order.
func headerValues(m sip.Message, name string) []string {
	lower := strings.ToLower(name)
	var out []string
	for _, h := range m.GetHeaders(lower) {
		out = append(out, h.Value())
	}
	if c := compactForm(lower); c != "" {
		for _, h := range m.GetHeaders(c) {
			out = append(out, h.Value())
		}
	}
	return out
}

// headerValue returns the first value of header name (or its compact form).
func headerValue(m sip.Message, name string) (string, bool) {
	v := headerValues(m, name)
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// errHeader is wrapped by every header parse error; the adapter answers 400.
var errHeader = errors.New("malformed header")

func headerError(name, value, why string) error {
	return fmt.Errorf("%w: %s %q: %s", errHeader, name, value, why)
}

// isToken reports whether s is an RFC 3261 §25.1 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// splitParams splits "value;p1=v1;p2" at semicolons outside quoted strings.
func splitParams(s string) []string {
	return splitOutsideQuotes(s, ';')
}

// splitList splits a comma-separated header value at commas outside quotes and angle brackets.
func splitList(s string) []string {
	return splitOutsideQuotes(s, ',')
}

func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	inQuote, inAngle, escaped := false, false, false
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case inQuote && c == '\\':
			escaped = true
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '<':
			inAngle = true
		case !inQuote && c == '>':
			inAngle = false
		case !inQuote && !inAngle && c == sep:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// eventHeader is a parsed Event header (RFC 6665 §8.2.1): package token and id parameter.
type eventHeader struct {
	Package string
	ID      string
}

func (e eventHeader) String() string {
	if e.ID == "" {
		return e.Package
	}
	return e.Package + ";id=" + e.ID
}

// parseEvent parses an Event header value: event-type *( SEMI event-param ).
func parseEvent(v string) (eventHeader, error) {
	parts := splitParams(v)
	pkg := strings.TrimSpace(parts[0])
	if !isToken(pkg) {
		return eventHeader{}, headerError(hdrEvent, v, "event type is not a token")
	}
	e := eventHeader{Package: pkg}
	for _, p := range parts[1:] {
		name, val, _ := strings.Cut(p, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !isToken(name) {
			return eventHeader{}, headerError(hdrEvent, v, "bad parameter")
		}
		if strings.EqualFold(name, "id") {
			if !isToken(val) {
				return eventHeader{}, headerError(hdrEvent, v, "id is not a token")
			}
			e.ID = val
		}
	}
	return e, nil
}

// parseExpires parses delta-seconds (RFC 3261 §20.19, §25.1). Values beyond 2^32-1 are
// taken as 2^32-1.
func parseExpires(v string) (int, error) {
	s := strings.TrimSpace(v)
	if s == "" {
		return 0, headerError(hdrExpires, v, "empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, headerError(hdrExpires, v, "not delta-seconds")
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > math.MaxUint32 {
		n = math.MaxUint32
	}
	return int(n), nil
}

// parseIfMatch parses SIP-If-Match (RFC 3903 §11.3.2): entity-tag = token.
func parseIfMatch(v string) (string, error) {
	s := strings.TrimSpace(v)
	if !isToken(s) {
		return "", headerError(hdrSIPIfMatch, v, "entity-tag is not a token")
	}
	return s, nil
}

// parseMediaType returns "type/subtype" in lower case from a Content-Type or media-range
// value, without parameters (RFC 3261 §20.15).
func parseMediaType(v string) (string, error) {
	mt := strings.TrimSpace(splitParams(v)[0])
	typ, sub, ok := strings.Cut(mt, "/")
	typ, sub = strings.TrimSpace(typ), strings.TrimSpace(sub)
	if !ok || !isToken(typ) || !isToken(sub) {
		return "", headerError("Content-Type", v, "not type/subtype")
	}
	return strings.ToLower(typ + "/" + sub), nil
}

// parseAccept parses the Accept header values of a request into media ranges
// (lower case, no parameters). It returns nil when there is no Accept header and an empty,
// non-nil slice for an empty one (RFC 3261 §20.1: no body is acceptable).
func parseAccept(values []string) ([]string, error) {
	if values == nil {
		return nil, nil
	}
	out := []string{}
	for _, v := range values {
		for _, item := range splitList(v) {
			if item == "" {
				continue
			}
			mt, err := parseMediaType(item)
			if err != nil {
				return nil, headerError(hdrAccept, v, "bad media range")
			}
			out = append(out, mt)
		}
	}
	return out, nil
}

// parseAssertedIdentity returns the first SIP, SIPS or tel URI of a P-Asserted-Identity
// value (RFC 3325 §9.1: 1#PAssertedID-value, name-addr / addr-spec).
func parseAssertedIdentity(values []string) (string, bool) {
	for _, v := range values {
		for _, item := range splitList(v) {
			uri, ok := addrSpec(item)
			if !ok {
				continue
			}
			scheme, _, _ := strings.Cut(uri, ":")
			switch strings.ToLower(scheme) {
			case "sip", "sips", "tel":
				return uri, true
			}
		}
	}
	return "", false
}

// addrSpec extracts the URI of a name-addr ("Name" <uri>;params) or addr-spec value.
func addrSpec(item string) (string, bool) {
	item = strings.TrimSpace(item)
	if item == "" || strings.ContainsFunc(item, isControl) {
		return "", false
	}
	// Skip a quoted display name, which may contain '<'.
	rest := item
	if rest[0] == '"' {
		end := closingQuote(rest)
		if end < 0 {
			return "", false
		}
		rest = rest[end+1:]
	}
	if i := strings.IndexByte(rest, '<'); i >= 0 {
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			return "", false
		}
		uri := strings.TrimSpace(rest[i+1 : i+j])
		return uri, strings.Contains(uri, ":") && !strings.ContainsAny(uri, "<>\" \t")
	}
	// addr-spec: in a header, parameters after it belong to the header (RFC 3261 §20).
	uri := strings.TrimSpace(splitParams(rest)[0])
	if strings.ContainsAny(uri, " \t\"<>") || !strings.Contains(uri, ":") {
		return "", false
	}
	return uri, true
}

// closingQuote returns the index of the quote that closes s[0] == '"', or -1.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// parseChargingVector checks a P-Charging-Vector value (RFC 7315 §5.6): icid-value is
// mandatory. The value is kept as received for echoing in NOTIFYs.
func parseChargingVector(v string) (string, error) {
	s := strings.TrimSpace(v)
	if strings.ContainsFunc(s, isControl) {
		return "", headerError(hdrChargingVector, v, "control character")
	}
	for _, p := range splitParams(s) {
		name, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(name), "icid-value") && strings.TrimSpace(val) != "" {
			return s, nil
		}
	}
	return "", headerError(hdrChargingVector, v, "no icid-value")
}

// recordRoutes returns the Record-Route entries of m in order, each as "<uri>" with any
// header parameters (RFC 3261 §20.30; sipgo splits comma-separated values).
func recordRoutes(m sip.Message) []string {
	hs := m.GetHeaders("record-route")
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		out = append(out, h.Value())
	}
	return out
}

// routes returns the Route entries of m in order.
func routes(m sip.Message) []sip.Uri {
	hs := m.GetHeaders("route")
	out := make([]sip.Uri, 0, len(hs))
	for _, h := range hs {
		if r, ok := h.(*sip.RouteHeader); ok {
			out = append(out, r.Address)
		}
	}
	return out
}

// parseRoute parses one route-set entry ("<uri>;params" or a bare URI) into its URI.
func parseRoute(v string) (sip.Uri, error) {
	var u sip.Uri
	s, ok := addrSpec(v)
	if !ok {
		return u, headerError(hdrRoute, v, "not a name-addr")
	}
	if err := sip.ParseUri(s, &u); err != nil {
		return u, headerError(hdrRoute, v, err.Error())
	}
	if !validHost(u.Host) {
		return u, headerError(hdrRoute, v, "bad host")
	}
	return u, nil
}

// subscriptionState formats Subscription-State (RFC 6665 §8.2.3).
func subscriptionState(state, reason string, expires int) string {
	var b strings.Builder
	b.WriteString(state)
	if reason != "" {
		b.WriteString(";reason=")
		b.WriteString(reason)
	}
	if expires >= 0 {
		b.WriteString(";expires=")
		b.WriteString(strconv.Itoa(expires))
	}
	return b.String()
}

// setHeader appends a generic header; values must already be free of CR and LF.
func setHeader(m sip.Message, name, value string) {
	m.AppendHeader(sip.NewHeader(name, value))
}

// safeValue reports whether v can go into a header without splitting it.
func safeValue(v string) bool {
	return !strings.ContainsFunc(v, isControl)
}

// contentType returns the media type of m's Content-Type ("" when absent).
func contentType(m sip.Message) (string, error) {
	v, ok := headerValue(m, "Content-Type")
	if !ok {
		return "", nil
	}
	return parseMediaType(v)
}

// validHost reports whether h is a hostname, IPv4 address or bracketed IPv6 reference
// (RFC 3261 §25.1 host), as far as its characters go.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.' || c == '-' || c == ':' || c == '[' || c == ']':
		default:
			return false
		}
	}
	return true
}

// fields are the header values isc reads from a PUBLISH or SUBSCRIBE, gathered in one pass
// over the header list (sipgo's GetHeaders lower-cases every name on every call).
type fields struct {
	event, expires, ifMatch, chargingVector  string
	hasEvent, hasExpires, hasIfMatch, hasPCV bool
	accept, assertedIdentity, require        []string
}

// readFields scans req's headers once, resolving compact forms.
func readFields(req *sip.Request) fields {
	var f fields
	for _, h := range req.Headers() {
		name := h.Name()
		if len(name) == 1 {
			switch name[0] | 0x20 { // ASCII lower case
			case 'o':
				name = hdrEvent
			default:
				continue
			}
		}
		switch {
		case strings.EqualFold(name, hdrEvent):
			if !f.hasEvent {
				f.event, f.hasEvent = h.Value(), true
			}
		case strings.EqualFold(name, hdrExpires):
			if !f.hasExpires {
				f.expires, f.hasExpires = h.Value(), true
			}
		case strings.EqualFold(name, hdrSIPIfMatch):
			if !f.hasIfMatch {
				f.ifMatch, f.hasIfMatch = h.Value(), true
			}
		case strings.EqualFold(name, hdrChargingVector):
			if !f.hasPCV {
				f.chargingVector, f.hasPCV = h.Value(), true
			}
		case strings.EqualFold(name, hdrAccept):
			f.accept = append(f.accept, h.Value())
		case strings.EqualFold(name, hdrAssertedIdentity):
			f.assertedIdentity = append(f.assertedIdentity, h.Value())
		case strings.EqualFold(name, hdrRequire):
			f.require = append(f.require, h.Value())
		}
	}
	return f
}

// isControl reports ASCII control characters other than horizontal tab.
func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }
