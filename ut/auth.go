package ut

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/icholy/digest"
	"github.com/imsps/imsps/configs"
)

// Identity and authorization on the Ut reference point (TS 24.109 §7, TS 33.222,
// RFC 4825 §5.7/§9):
//   - X-3GPP-Asserted-Identity (or X-XCAP-Asserted-Identity) names the user when the
//     request comes from a configured trusted proxy, or through AssertedHandler (the
//     in-process authentication proxy). From anyone else the header is refused with 403.
//   - Otherwise built-in HTTP Digest (RFC 7616, SHA-256 and MD5, qop=auth) and, on TLS
//     connections only, Basic, against the subscriber file.
//   - A user reads and writes only below their own XUI (any of their public identities);
//     the global tree is read-only; configured admins may do everything.

const (
	hdrAsserted     = "X-3GPP-Asserted-Identity"
	hdrAssertedXCAP = "X-XCAP-Asserted-Identity"
	hdrIntended     = "X-3GPP-Intended-Identity"
)

// identity is who a request acts for.
type identity struct {
	ids   []string // canonical public identities of the user
	admin bool
}

func (id identity) owns(xui string) bool {
	c := canonID(xui)
	for _, i := range id.ids {
		if i == c {
			return true
		}
	}
	return false
}

// canonID puts an identity into the form used for comparisons: no angle brackets or
// parameters, scheme and domain in lower case.
func canonID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return s
	}
	scheme = strings.ToLower(scheme)
	if scheme == "sip" || scheme == "sips" {
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			rest = rest[:at+1] + strings.ToLower(rest[at+1:])
		} else {
			rest = strings.ToLower(rest)
		}
	}
	return scheme + ":" + rest
}

// canonXUI lower-cases the scheme of an XUI and, for SIP URIs, the host part (RFC 3261
// §19.1.4); the rest is kept as sent.
func canonXUI(xui string) string {
	scheme, rest, ok := strings.Cut(xui, ":")
	if !ok {
		return xui
	}
	scheme = strings.ToLower(scheme)
	if scheme == "sip" || scheme == "sips" {
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			host, params, _ := strings.Cut(rest[at+1:], ";")
			rest = rest[:at+1] + strings.ToLower(host)
			if params != "" {
				rest += ";" + params
			}
		}
	}
	return scheme + ":" + rest
}

// parseAssertedIdentity splits the header value: a comma-separated list of (usually
// quoted) identities, e.g. "sip:alice@example.com", "tel:+15550100".
func parseAssertedIdentity(v string) []string {
	var out []string
	var cur strings.Builder
	inQuote := false
	flush := func() {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		s = strings.Trim(s, `"`)
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			flush()
			continue
		}
		cur.WriteByte(c)
	}
	flush()
	return out
}

type authenticator struct {
	cfg     Config
	subs    *configs.Subscribers
	trusted []netip.Prefix
	admins  map[string]bool
	now     func() time.Time

	mu     sync.Mutex
	nonces map[string]*nonceState
}

type nonceState struct {
	expires time.Time
	lastNC  int
}

func newAuthenticator(cfg Config, subs *configs.Subscribers, now func() time.Time) *authenticator {
	a := &authenticator{cfg: cfg, subs: subs, now: now, admins: map[string]bool{},
		nonces: map[string]*nonceState{}}
	for _, p := range cfg.TrustedProxies {
		if pf, err := parsePrefix(p); err == nil {
			a.trusted = append(a.trusted, pf)
		}
	}
	for _, ad := range cfg.Admins {
		a.admins[canonID(ad)] = true
	}
	return a
}

// expand turns authenticated identities into the user's identity set (aliases from the
// subscriber file) and marks admins.
func (a *authenticator) expand(ids []string) identity {
	var id identity
	seen := map[string]bool{}
	add := func(s string) {
		c := canonID(s)
		if !seen[c] {
			seen[c] = true
			id.ids = append(id.ids, c)
		}
	}
	for _, s := range ids {
		add(s)
		if a.subs != nil {
			for _, sub := range a.subs.Subscribers {
				for _, u := range sub.IMPUs {
					if canonID(u) == canonID(s) {
						for _, alias := range sub.IMPUs {
							add(alias)
						}
					}
				}
			}
		}
	}
	for _, c := range id.ids {
		if a.admins[c] {
			id.admin = true
		}
	}
	return id
}

func (a *authenticator) fromTrustedProxy(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range a.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// authenticate finds who the request acts for. trustAsserted is set for the in-process
// authentication proxy (AssertedHandler).
func (a *authenticator) authenticate(r *http.Request, target string, trustAsserted bool) (identity, error) {
	asserted := r.Header.Get(hdrAsserted)
	if asserted == "" {
		asserted = r.Header.Get(hdrAssertedXCAP)
	}
	if asserted != "" {
		if !trustAsserted && !a.fromTrustedProxy(r) {
			return identity{}, ErrForbidden
		}
		ids := parseAssertedIdentity(asserted)
		if len(ids) == 0 {
			return identity{}, ErrForbidden
		}
		return a.expand(ids), nil
	}
	if trustAsserted {
		return identity{}, ErrForbidden
	}
	authz := r.Header.Get("Authorization")
	var id identity
	var err error
	switch {
	case a.cfg.Digest.Enabled && digest.IsDigest(authz):
		id, err = a.checkDigest(r, target, authz)
	case a.cfg.BasicOverTLS && r.TLS != nil && strings.HasPrefix(strings.ToLower(authz), "basic "):
		id, err = a.checkBasic(authz, r)
	default:
		return identity{}, a.challenge(r, false, "no credentials")
	}
	if err != nil {
		return identity{}, err
	}
	// TS 24.109 §5.2: the identity the user wants to act as must be one of theirs.
	if want := r.Header.Get(hdrIntended); want != "" && !id.owns(strings.Trim(strings.TrimSpace(want), `"`)) {
		return identity{}, ErrForbidden
	}
	return id, nil
}

// subscriberFor finds the subscriber a Digest/Basic username names: the full private
// identity (alice@example.com) or the user part with the realm as domain (alice).
func (a *authenticator) subscriberFor(username, realm string) (configs.Subscriber, bool) {
	if a.subs == nil {
		return configs.Subscriber{}, false
	}
	if sub, ok := a.subs.ByIMPI(username); ok {
		return sub, true
	}
	if !strings.Contains(username, "@") && realm != "" {
		return a.subs.ByIMPI(username + "@" + realm)
	}
	return configs.Subscriber{}, false
}

func (a *authenticator) challenge(r *http.Request, stale bool, reason string) error {
	var chals []string
	if a.cfg.Digest.Enabled {
		nonce := a.newNonce()
		for _, alg := range a.cfg.Digest.Algorithms {
			c := digest.Challenge{Realm: a.cfg.Digest.Realm, Nonce: nonce, Algorithm: alg,
				QOP: []string{"auth"}, Stale: stale}
			chals = append(chals, c.String())
		}
	}
	if a.cfg.BasicOverTLS && r.TLS != nil {
		chals = append(chals, `Basic realm="`+a.cfg.Digest.Realm+`"`)
	}
	return &UnauthorizedError{Challenges: chals, Reason: reason}
}

func (a *authenticator) newNonce() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	n := base64.RawURLEncoding.EncodeToString(b[:])
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.nonces) > 4096 {
		for k, st := range a.nonces {
			if now.After(st.expires) {
				delete(a.nonces, k)
			}
		}
	}
	if len(a.nonces) > 100000 { // bounded: under a flood, forget the oldest at random
		for k := range a.nonces {
			delete(a.nonces, k)
			if len(a.nonces) <= 50000 {
				break
			}
		}
	}
	a.nonces[n] = &nonceState{expires: now.Add(a.cfg.Digest.NonceLifetime)}
	return n
}

// useNonce checks that nonce is ours and live and that nc moves forward (replay).
func (a *authenticator) useNonce(nonce string, nc int, qop bool) (stale bool, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, found := a.nonces[nonce]
	if !found {
		return true, false
	}
	if a.now().After(st.expires) {
		delete(a.nonces, nonce)
		return true, false
	}
	if qop {
		if nc <= st.lastNC {
			return false, false
		}
		st.lastNC = nc
	}
	return false, true
}

func (a *authenticator) checkDigest(r *http.Request, target, authz string) (identity, error) {
	cred, err := digest.ParseCredentials(authz)
	if err != nil {
		return identity{}, a.challenge(r, false, "unparsable credentials")
	}
	if cred.Realm != a.cfg.Digest.Realm {
		return identity{}, a.challenge(r, false, "wrong realm")
	}
	alg := strings.ToUpper(cred.Algorithm)
	if alg == "" {
		alg = "MD5"
	}
	offered := false
	for _, o := range a.cfg.Digest.Algorithms {
		offered = offered || o == alg
	}
	if !offered || (cred.QOP != "" && cred.QOP != "auth") {
		return identity{}, a.challenge(r, false, "algorithm or qop not offered")
	}
	if !sameTarget(cred.URI, target, r) {
		// RFC 7616 §3.4: a uri parameter that names another resource is a bad request.
		return identity{}, &URIError{Reason: "the Digest uri parameter does not match the request target"}
	}
	sub, ok := a.subscriberFor(cred.Username, cred.Realm)
	if !ok || sub.Password == "" {
		return identity{}, a.challenge(r, false, "unknown user")
	}
	chal := &digest.Challenge{Realm: cred.Realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, Opaque: cred.Opaque}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{Method: r.Method, URI: cred.URI, Username: cred.Username,
		Password: sub.Password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil || subtle.ConstantTimeCompare([]byte(want.Response), []byte(strings.ToLower(cred.Response))) != 1 {
		return identity{}, a.challenge(r, false, "wrong response")
	}
	if stale, ok := a.useNonce(cred.Nonce, cred.Nc, cred.QOP != ""); !ok {
		return identity{}, a.challenge(r, stale, "stale or replayed nonce")
	}
	return a.expand(sub.IMPUs), nil
}

// sameTarget compares the Digest uri parameter with the request target as sent; clients
// that send unencoded '[', ']' and '"' repeat them so, others encode them: both match.
func sameTarget(credURI, target string, r *http.Request) bool {
	if credURI == target || credURI == r.RequestURI {
		return true
	}
	a, err1 := pathUnescape(credURI)
	b, err2 := pathUnescape(target)
	if err1 == nil && err2 == nil && a == b {
		return true
	}
	// An absolute-form uri parameter.
	if i := strings.Index(credURI, "://"); i >= 0 {
		if j := strings.IndexByte(credURI[i+3:], '/'); j >= 0 {
			return sameTarget(credURI[i+3+j:], target, r)
		}
	}
	return false
}

func (a *authenticator) checkBasic(authz string, r *http.Request) (identity, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(authz[len("basic "):]))
	if err != nil {
		return identity{}, a.challenge(r, false, "bad basic credentials")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return identity{}, a.challenge(r, false, "bad basic credentials")
	}
	sub, found := a.subscriberFor(user, a.cfg.Digest.Realm)
	if !found || sub.Password == "" || subtle.ConstantTimeCompare([]byte(sub.Password), []byte(pass)) != 1 {
		return identity{}, a.challenge(r, false, "wrong password")
	}
	return a.expand(sub.IMPUs), nil
}

// authorize applies the default policy (RFC 4825 §5.7, RFC 4827 §10): a user's own tree
// read-write, the global tree read-only, admins everything.
func authorize(id identity, u URI, write bool) error {
	switch {
	case id.admin:
		return nil
	case u.XUI == "":
		if write {
			return ErrForbidden
		}
		return nil
	case id.owns(u.XUI):
		return nil
	}
	return ErrForbidden
}
