package bsf

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/icholy/digest"
)

// Digest algorithm tokens (RFC 2617 §3.2.1, RFC 3310 §3).
const (
	algMD5     = "MD5"
	algAKAv1   = "AKAv1-MD5"
	qopAuth    = "auth"
	qopAuthInt = "auth-int"
)

// ErrBadCredentials is returned when an Authorization header is not a Digest credential
// this server can check (RFC 2617 §3.2.2).
var ErrBadCredentials = errors.New("malformed Digest credentials")

// credentials is a parsed Digest Authorization header (RFC 2617 §3.2.2, RFC 3310 §3
// adds auts).
type credentials struct {
	Username  string
	Realm     string
	Nonce     string
	URI       string
	Response  string
	Algorithm string
	Cnonce    string
	Opaque    string
	QOP       string
	NC        uint32
	NCText    string // the nc as sent: 8 hex digits go into the response hash
	AUTS      string
}

// parseCredentials parses `Digest k=v, k="v", …`. Parameter names are case-insensitive;
// unknown ones are ignored (RFC 2617 auth-param).
func parseCredentials(h string) (credentials, error) {
	rest, ok := digest.CutPrefix(strings.TrimSpace(h))
	if !ok {
		return credentials{}, fmt.Errorf("%w: not Digest", ErrBadCredentials)
	}
	params, err := parseParams(rest)
	if err != nil {
		return credentials{}, err
	}
	var c credentials
	for k, v := range params {
		switch k {
		case "username":
			c.Username = v
		case "realm":
			c.Realm = v
		case "nonce":
			c.Nonce = v
		case "uri":
			c.URI = v
		case "response":
			c.Response = strings.ToLower(v)
		case "algorithm":
			c.Algorithm = v
		case "cnonce":
			c.Cnonce = v
		case "opaque":
			c.Opaque = v
		case "qop":
			c.QOP = v
		case "nc":
			if len(v) != 8 {
				return credentials{}, fmt.Errorf("%w: nc %q is not 8 hex digits", ErrBadCredentials, v)
			}
			n, err := strconv.ParseUint(v, 16, 32)
			if err != nil {
				return credentials{}, fmt.Errorf("%w: nc %q is not 8 hex digits", ErrBadCredentials, v)
			}
			c.NC, c.NCText = uint32(n), v
		case "auts":
			c.AUTS = v
		}
	}
	if c.Username == "" {
		return credentials{}, fmt.Errorf("%w: no username", ErrBadCredentials)
	}
	if c.QOP != "" && (c.Cnonce == "" || c.NCText == "") {
		return credentials{}, fmt.Errorf("%w: qop without cnonce and nc", ErrBadCredentials)
	}
	return c, nil
}

// parseParams parses a comma-separated auth-param list (RFC 7235 §2.1): token "=" ( token /
// quoted-string ), with backslash escapes in quoted strings.
func parseParams(s string) (map[string]string, error) {
	out := map[string]string{}
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ',' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		key := strings.ToLower(s[start:i])
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if key == "" || i >= len(s) || s[i] != '=' {
			return nil, fmt.Errorf("%w: parameter %q without value", ErrBadCredentials, key)
		}
		i++
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		var val strings.Builder
		if i < len(s) && s[i] == '"' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					val.WriteByte(s[i+1])
					i += 2
					continue
				}
				if c == '"' {
					closed = true
					i++
					break
				}
				val.WriteByte(c)
				i++
			}
			if !closed {
				return nil, fmt.Errorf("%w: unterminated quoted value of %q", ErrBadCredentials, key)
			}
		} else {
			start := i
			for i < len(s) && s[i] != ',' && s[i] != ' ' && s[i] != '\t' {
				i++
			}
			val.WriteString(s[start:i])
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%w: parameter %q repeated", ErrBadCredentials, key)
		}
		out[key] = val.String()
	}
}

func md5hex(parts ...string) string {
	h := md5.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{':'})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ha1 is H(username ":" realm ":" password) (RFC 2617 §3.2.2.2); with AKAv1-MD5 the password
// is RES as raw octets (RFC 3310 §3).
func ha1(username, realm string, password []byte) string {
	return md5hex(username, realm, string(password))
}

// digestResponse computes request-digest (RFC 2617 §3.2.2.1) from HA1, for qop auth,
// auth-int (bodyHash = H(entity-body)) or none (RFC 2069 compatibility).
func digestResponse(ha1 string, c credentials, method, bodyHash string) string {
	a2 := md5hex(method, c.URI)
	if c.QOP == qopAuthInt {
		a2 = md5hex(method, c.URI, bodyHash)
	}
	if c.QOP == "" {
		return md5hex(ha1, c.Nonce, a2)
	}
	return md5hex(ha1, c.Nonce, c.NCText, c.Cnonce, c.QOP, a2)
}

// responseMatches compares the received response with the expected one in constant time.
func responseMatches(c credentials, want string) bool {
	return subtle.ConstantTimeCompare([]byte(c.Response), []byte(want)) == 1
}

// authenticationInfo formats the Authentication-Info header (RFC 2617 §3.2.3): rspauth is
// the digest with an empty method and, for auth-int, the hash of the response body.
func authenticationInfo(ha1 string, c credentials, respBodyHash string) string {
	rspauth := digestResponse(ha1, c, "", respBodyHash)
	if c.QOP == "" {
		return fmt.Sprintf(`rspauth="%s"`, rspauth)
	}
	return fmt.Sprintf(`qop=%s, rspauth="%s", cnonce="%s", nc=%s`, c.QOP, rspauth, quoteEscape(c.Cnonce), c.NCText)
}

func quoteEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

func md5Body(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// qopAllowed reports whether the qop the client chose was offered.
func qopAllowed(qop string, offered []string) bool {
	for _, o := range offered {
		if o == qop {
			return true
		}
	}
	return false
}
