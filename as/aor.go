package as

import (
	"errors"
	"fmt"
	"strings"
)

// AOR is a canonical address of record: a SIP URI "sip:user@domain" (no parameters,
// headers or port, escapes decoded, domain lower case) or a tel URI "tel:+number".
// The same presentity always has the same AOR.
type AOR string

// ErrBadURI is wrapped by the errors ParseAOR returns.
var ErrBadURI = errors.New("not a usable address of record")

// ParseAOR canonicalizes a SIP, SIPS or tel URI into the AOR that indexes a presentity
// (RFC 3903 §6 step 5, draft-olson-simple-publish-02 §10 step 5): all URI parameters and
// headers are removed (the user parameter too), escaped characters are decoded, and the result
// is the same string for every spelling of one user.
//
// Rules, so that different spellings meet in one presentity:
//   - the scheme is case-insensitive; "sips:" maps to "sip:" (one user, one presentity);
//   - a name-addr ("Alice <sip:alice@example.com>;tag=x") is reduced to the URI in brackets;
//   - SIP: the user part is required and case-sensitive; password, port, parameters and headers
//     are dropped; the host is lower-cased; escapes are decoded, and only characters that may
//     not appear unescaped in a user part (RFC 3261 §25.1) are re-escaped as %XX (upper-case
//     hex), so ParseAOR(string(aor)) == aor;
//   - tel: only global numbers ("+" and digits, RFC 3966 §5.1.4); visual separators
//     ("-", ".", "(", ")") and parameters are removed.
//
// Anything else returns an error wrapping ErrBadURI that says what is wrong.
func ParseAOR(uri string) (AOR, error) {
	s := strings.TrimSpace(uri)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			return "", badURI(uri, "'<' without '>'")
		}
		s = strings.TrimSpace(s[i+1 : i+j])
	}
	colon := strings.IndexByte(s, ':')
	if colon <= 0 {
		return "", badURI(uri, "no scheme")
	}
	switch strings.ToLower(s[:colon]) {
	case "sip", "sips":
		return parseSIP(uri, s[colon+1:])
	case "tel":
		return parseTel(uri, s[colon+1:])
	}
	return "", badURI(uri, "scheme is not sip, sips or tel")
}

func badURI(uri, why string) error {
	if len(uri) > 80 {
		uri = uri[:80] + "..."
	}
	return fmt.Errorf("%q: %s: %w", uri, why, ErrBadURI)
}

func parseSIP(uri, rest string) (AOR, error) {
	at := strings.IndexByte(rest, '@')
	if at < 0 {
		return "", badURI(uri, "no user part")
	}
	userinfo, hostport := rest[:at], rest[at+1:]
	if i := strings.IndexByte(userinfo, ':'); i >= 0 {
		userinfo = userinfo[:i] // password
	}
	if userinfo == "" {
		return "", badURI(uri, "empty user part")
	}
	user, err := unescapeUser(userinfo)
	if err != nil {
		return "", badURI(uri, err.Error())
	}
	if i := strings.IndexAny(hostport, ";?"); i >= 0 {
		hostport = hostport[:i]
	}
	host, err := canonicalHost(hostport)
	if err != nil {
		return "", badURI(uri, err.Error())
	}
	var b strings.Builder
	b.Grow(4 + len(user)*3 + 1 + len(host))
	b.WriteString("sip:")
	escapeUser(&b, user)
	b.WriteByte('@')
	b.WriteString(host)
	return AOR(b.String()), nil
}

// userUnescaped reports whether c may stand unescaped in a SIP user part: unreserved or
// user-unreserved (RFC 3261 §25.1).
func userUnescaped(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'()&=+$,;?/", c) >= 0
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func unescapeUser(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		for i := 0; i < len(s); i++ {
			if !userUnescaped(s[i]) {
				return "", fmt.Errorf("character %q not allowed in user part", s[i])
			}
		}
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return "", errors.New("truncated %-escape in user part")
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", errors.New("bad %-escape in user part")
			}
			b = append(b, hi<<4|lo)
			i += 2
			continue
		}
		if !userUnescaped(c) {
			return "", fmt.Errorf("character %q not allowed in user part", c)
		}
		b = append(b, c)
	}
	return string(b), nil
}

func escapeUser(b *strings.Builder, user string) {
	const hexdigits = "0123456789ABCDEF"
	for i := 0; i < len(user); i++ {
		c := user[i]
		if userUnescaped(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdigits[c>>4])
		b.WriteByte(hexdigits[c&15])
	}
}

// canonicalHost checks host[:port] and returns the host in lower case without the port.
func canonicalHost(hp string) (string, error) {
	if hp == "" {
		return "", errors.New("empty host")
	}
	var host, port string
	if hp[0] == '[' {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", errors.New("unterminated IPv6 reference")
		}
		host, port = hp[:end+1], hp[end+1:]
		inner := host[1 : len(host)-1]
		if inner == "" || strings.IndexByte(inner, ':') < 0 {
			return "", errors.New("bad IPv6 reference")
		}
		for i := 0; i < len(inner); i++ {
			c := inner[i]
			if _, ok := unhex(c); !ok && c != ':' && c != '.' {
				return "", errors.New("bad IPv6 reference")
			}
		}
	} else {
		host, port = hp, ""
		if i := strings.IndexByte(hp, ':'); i >= 0 {
			host, port = hp[:i], hp[i:]
		}
		if host == "" || len(host) > 253 {
			return "", errors.New("bad host length")
		}
		for i := 0; i < len(host); i++ {
			c := host[i]
			ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.'
			if !ok {
				return "", fmt.Errorf("character %q not allowed in host", c)
			}
		}
		if host[0] == '.' || host[0] == '-' || strings.Contains(host, "..") {
			return "", errors.New("bad host name")
		}
		host = strings.TrimSuffix(host, ".")
	}
	if port != "" {
		if port[0] != ':' || len(port) == 1 || len(port) > 6 {
			return "", errors.New("bad port")
		}
		for i := 1; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return "", errors.New("bad port")
			}
		}
	}
	return strings.ToLower(host), nil
}

func parseTel(uri, rest string) (AOR, error) {
	if i := strings.IndexAny(rest, ";?"); i >= 0 {
		rest = rest[:i]
	}
	if !strings.HasPrefix(rest, "+") {
		return "", badURI(uri, "tel URI is not a global number (+digits)")
	}
	b := make([]byte, 0, len(rest)+4)
	b = append(b, "tel:+"...)
	digits := 0
	for i := 1; i < len(rest); i++ {
		switch c := rest[i]; {
		case '0' <= c && c <= '9':
			b = append(b, c)
			digits++
		case c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", badURI(uri, fmt.Sprintf("character %q not allowed in a global number", c))
		}
	}
	if digits == 0 {
		return "", badURI(uri, "tel URI has no digits")
	}
	return AOR(b), nil
}

// Domain returns the host of a SIP AOR, "" for a tel AOR.
func (a AOR) Domain() string {
	s := string(a)
	if !strings.HasPrefix(s, "sip:") {
		return ""
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return s[i+1:]
	}
	return ""
}

// IsTel reports whether a is a tel URI.
func (a AOR) IsTel() bool { return strings.HasPrefix(string(a), "tel:") }
