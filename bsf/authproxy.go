package bsf

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/icholy/digest"
)

// Identity headers of the Ut reference point (TS 24.109 §5.2.2, TS 24.623 §5.2.3).
const (
	HeaderIntendedIdentity = "X-3GPP-Intended-Identity"
	HeaderAssertedIdentity = "X-3GPP-Asserted-Identity"
)

// GBARealmPrefix starts the realm of a GBA_ME NAF challenge (TS 24.109 §5.2.2).
const GBARealmPrefix = "3GPP-bootstrapping@"

// IdentityChecker lists the public identities a private identity may use; the proxy adds
// them to the uids of the USS when it checks X-3GPP-Intended-Identity.
type IdentityChecker interface {
	// Identities returns the IMPUs of an IMPI, the default public identity first.
	Identities(ctx context.Context, impi string) ([]string, error)
}

// DigestUsers gives the proxy plain HTTP Digest users (RFC 2617) besides GBA.
type DigestUsers interface {
	// DigestHA1 returns H(username ":" realm ":" password) and the user's IMPI, or an error
	// wrapping ErrUnknownIMPI.
	DigestHA1(ctx context.Context, username, realm string) (ha1, impi string, err error)
}

// WithDigestUsers lets the proxy also accept plain HTTP Digest in realm digest_realm.
func WithDigestUsers(u DigestUsers) Option { return func(o *options) { o.digestUsers = u } }

// AuthProxyConfig is the authentication proxy's configuration (yaml prefix "authproxy").
type AuthProxyConfig struct {
	// Listen is the Ua/Ut listener towards UEs.
	Listen string `yaml:"listen"`
	// NAFNames are the FQDNs (or addresses) the proxy serves as NAF; the Host a UE addressed
	// must be one of them and becomes the NAF FQDN in NAF_Id.
	NAFNames []string `yaml:"naf_names"`
	// NonceLifetime is how long a NAF nonce is accepted before stale=true.
	NonceLifetime time.Duration `yaml:"nonce_lifetime"`
	// MaxNonces bounds outstanding nonces; beyond it the proxy answers 503.
	MaxNonces int `yaml:"max_nonces"`
	// KeyCacheSize bounds cached Ks_NAF entries (kept until Key-ExpiryTime).
	KeyCacheSize int `yaml:"key_cache_size"`
	// MaxBody bounds a request body (auth-int hashes it before forwarding).
	MaxBody int64 `yaml:"max_body"`
	// DigestRealm is the realm of plain HTTP Digest users; empty disables plain Digest.
	DigestRealm string `yaml:"digest_realm"`
	// Upstream is the XCAP server to reverse-proxy to when no in-process handler is given.
	Upstream string `yaml:"upstream"`
	// TLS serves Ua over HTTPS (TS 33.222 §5.3) when cert_file is set.
	TLS TLSConfig `yaml:"tls"`
	// Keys selects where Ks_NAF comes from: "bsf" (the embedded BSF, in process) or "zn"
	// (BIR/BIA to the BSF named in zn).
	Keys string `yaml:"keys"`
	// Zn is the Diameter client towards the BSF, used when Keys is "zn".
	Zn DiameterPeer `yaml:"zn"`
}

// TLSConfig names the server certificate and optional client CA.
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile, when set, requests client certificates signed by it (verified if sent).
	ClientCAFile string `yaml:"client_ca_file"`
}

// DefaultAuthProxyConfig is the lab profile: 127.0.0.1:8081, NAF names localhost and
// 127.0.0.1, plain Digest in realm example.com.
func DefaultAuthProxyConfig() AuthProxyConfig {
	return AuthProxyConfig{
		Listen:        "127.0.0.1:8081",
		NAFNames:      []string{"localhost", "127.0.0.1"},
		NonceLifetime: 5 * time.Minute,
		MaxNonces:     100000,
		KeyCacheSize:  100000,
		MaxBody:       1 << 20,
		DigestRealm:   "example.com",
		Keys:          "bsf",
		Zn: DiameterPeer{
			Address:          "127.0.0.1:3870",
			OriginHost:       "naf.example.com",
			OriginRealm:      "example.com",
			DestinationRealm: "example.com",
		},
	}
}

// Validate checks the configuration; errors name the key with the "authproxy." prefix.
func (c AuthProxyConfig) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("authproxy.%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "not host:port: %q", c.Listen)
	}
	if len(c.NAFNames) == 0 {
		bad("naf_names", "at least one name needed")
	}
	for i, n := range c.NAFNames {
		if n == "" || strings.ContainsAny(n, "/@ ") || strings.Contains(n, ":") && net.ParseIP(n) == nil {
			bad(fmt.Sprintf("naf_names[%d]", i), "not a host name or address: %q", n)
		}
	}
	if c.NonceLifetime <= 0 {
		bad("nonce_lifetime", "must be positive")
	}
	if c.MaxNonces <= 0 {
		bad("max_nonces", "must be positive")
	}
	if c.KeyCacheSize < 0 {
		bad("key_cache_size", "must not be negative")
	}
	if c.MaxBody <= 0 {
		bad("max_body", "must be positive")
	}
	if c.Upstream != "" {
		if u, err := url.Parse(c.Upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("upstream", "not an http(s) URL: %q", c.Upstream)
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls.key_file", "cert_file and key_file go together")
	}
	if c.TLS.ClientCAFile != "" && c.TLS.CertFile == "" {
		bad("tls.client_ca_file", "needs tls.cert_file")
	}
	switch c.Keys {
	case "bsf":
	case "zn":
		if _, _, err := net.SplitHostPort(c.Zn.Address); err != nil {
			bad("zn.address", "not host:port: %q", c.Zn.Address)
		}
		for key, v := range map[string]string{"origin_host": c.Zn.OriginHost, "origin_realm": c.Zn.OriginRealm, "destination_realm": c.Zn.DestinationRealm} {
			if v == "" {
				bad("zn."+key, "missing")
			}
		}
	default:
		bad("keys", `want "bsf" or "zn", got %q`, c.Keys)
	}
	return errors.Join(errs...)
}

// AuthProxy is the Ut authentication proxy: a NAF (TS 24.109 §5.3) that authenticates UEs
// with GBA Digest (or plain Digest), checks X-3GPP-Intended-Identity, and forwards to the
// XCAP server with X-3GPP-Asserted-Identity (TS 24.623 §5.2.3.2).
type AuthProxy struct {
	cfg        AuthProxyConfig
	keys       *keyCache
	identities IdentityChecker
	users      DigestUsers
	next       http.Handler
	log        *slog.Logger
	now        func() time.Time
	names      map[string]bool
	tls        *tls.Config

	mu     sync.Mutex
	nonces map[string]*nafNonce

	srvMu sync.Mutex
	srv   *http.Server
}

type nafNonce struct {
	expires time.Time
	seen    map[uint32]struct{} // nc values used (RFC 2617 §3.2.2 replay protection)
}

// maxNC bounds the nc values remembered per nonce; beyond it the nonce is stale.
const maxNC = 4096

// NewAuthProxy builds the proxy. keys is the Zn client or the in-process BSF; identities may
// be nil (then only the USS uids count); next is the XCAP server's handler that trusts
// X-3GPP-Asserted-Identity — nil means a reverse proxy to cfg.Upstream.
func NewAuthProxy(cfg AuthProxyConfig, keys KeyService, identities IdentityChecker, next http.Handler, log *slog.Logger, opts ...Option) (*AuthProxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if keys == nil || log == nil {
		return nil, errors.New("authproxy: keys and log are required")
	}
	if next == nil {
		if cfg.Upstream == "" {
			return nil, errors.New("authproxy.upstream: needed when no in-process XCAP handler is given")
		}
		u, _ := url.Parse(cfg.Upstream)
		next = httputil.NewSingleHostReverseProxy(u)
	}
	o := applyOptions(opts)
	p := &AuthProxy{
		cfg:        cfg,
		keys:       newKeyCache(keys, cfg.KeyCacheSize, o.now),
		identities: identities,
		next:       next,
		log:        log.With("component", "authproxy"),
		now:        o.now,
		names:      map[string]bool{},
		nonces:     map[string]*nafNonce{},
	}
	if cfg.DigestRealm != "" {
		p.users = o.digestUsers
	}
	for _, n := range cfg.NAFNames {
		p.names[strings.ToLower(n)] = true
	}
	if cfg.TLS.CertFile != "" {
		tc, err := loadTLS(cfg.TLS)
		if err != nil {
			return nil, err
		}
		p.tls = tc
	}
	return p, nil
}

func loadTLS(c TLSConfig) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("authproxy.tls.cert_file: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.ClientCAFile != "" {
		pem, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("authproxy.tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("authproxy.tls.client_ca_file: no PEM certificates in %s", c.ClientCAFile)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

// Handler returns the proxy as an http.Handler (it is one; for symmetry with BSF.Handler).
func (p *AuthProxy) Handler() http.Handler { return p }

// Serve serves the proxy on l (HTTPS when tls.cert_file is set) until ctx ends.
func (p *AuthProxy) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second, TLSConfig: p.tls}
	p.srvMu.Lock()
	p.srv = srv
	p.srvMu.Unlock()
	return serveHTTP(ctx, srv, l, p.tls)
}

// Close stops serving; it is idempotent.
func (p *AuthProxy) Close() error {
	p.srvMu.Lock()
	defer p.srvMu.Unlock()
	if p.srv == nil {
		return nil
	}
	return p.srv.Close()
}

// Errors the proxy maps to statuses in one place (proxyStatus).
var (
	errMisdirected      = errors.New("host is not one of the NAF names")
	errIdentityRefused  = errors.New("intended identity is not the user's")
	errNoPublicIdentity = errors.New("user has no public identity")
	errBodyTooLarge     = errors.New("request body too large")
)

// authenticated is a request that passed Digest.
type authenticated struct {
	impi       string
	identities []string
	ha1        string
	creds      credentials
}

// ServeHTTP authenticates, asserts the identity and forwards (TS 24.623 §5.2.3.2 a–e).
func (p *AuthProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, rep, err := p.authenticate(r)
	if err != nil {
		rep = p.errorReply(r, err)
		p.log.Log(r.Context(), levelFor(rep.status), "Ut request refused", "status", rep.status, "err", err)
	}
	if a == nil {
		writeReply(w, rep)
		return
	}
	asserted, err := p.assert(r, a)
	if err != nil {
		rep = p.errorReply(r, err)
		p.log.Info("Ut request refused", "impi", a.impi, "status", rep.status, "err", err)
		writeReply(w, rep)
		return
	}
	r.Header.Del("Authorization")
	r.Header.Set(HeaderAssertedIdentity, `"`+asserted+`"`)
	if a.creds.QOP == qopAuth {
		w.Header().Set("Authentication-Info", authenticationInfo(a.ha1, a.creds, ""))
	}
	p.next.ServeHTTP(w, r)
}

// errorReply is the one place proxy errors become HTTP statuses.
func (p *AuthProxy) errorReply(r *http.Request, err error) reply {
	switch {
	case errors.Is(err, ErrBadCredentials):
		return textReply(http.StatusBadRequest, err.Error())
	case errors.Is(err, errMisdirected):
		return textReply(http.StatusMisdirectedRequest, err.Error())
	case errors.Is(err, errBodyTooLarge):
		return textReply(http.StatusRequestEntityTooLarge, err.Error())
	case errors.Is(err, ErrNAFNotAllowed), errors.Is(err, errIdentityRefused), errors.Is(err, errNoPublicIdentity):
		return textReply(http.StatusForbidden, err.Error())
	case errors.Is(err, errOverloaded), errors.Is(err, ErrZnUnavailable):
		rep := textReply(http.StatusServiceUnavailable, "try again later")
		rep.header.Set("Retry-After", "5")
		return rep
	default:
		return textReply(http.StatusInternalServerError, "internal error")
	}
}

// nafFQDN is the Host the UE addressed, without the port, if it is one of the NAF names.
func (p *AuthProxy) nafFQDN(r *http.Request) (string, error) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if !p.names[host] {
		return "", fmt.Errorf("%w: %q", errMisdirected, host)
	}
	return host, nil
}

// uaID is the Ua security protocol id of the connection (TS 33.220 H.3).
func uaID(r *http.Request) UaProtocolID {
	if r.TLS != nil {
		return UaHTTPDigestTLS(r.TLS.CipherSuite)
	}
	return UaHTTPDigest
}

// authenticate returns the authenticated user, or the 401 (or other) reply to send.
func (p *AuthProxy) authenticate(r *http.Request) (*authenticated, reply, error) {
	ctx := r.Context()
	fqdn, err := p.nafFQDN(r)
	if err != nil {
		return nil, reply{}, err
	}
	gbaRealm := GBARealmPrefix + fqdn
	ah := r.Header.Get("Authorization")
	if ah == "" || !digest.IsDigest(ah) {
		rep, err := p.challenge(fqdn, false)
		return nil, rep, err
	}
	c, err := parseCredentials(ah)
	if err != nil {
		return nil, reply{}, err
	}
	if c.URI != r.RequestURI {
		return nil, reply{}, fmt.Errorf("%w: digest-uri %q is not the Request-URI (RFC 2617 §3.2.2.5)", ErrBadCredentials, c.URI)
	}
	if c.Algorithm != "" && !strings.EqualFold(c.Algorithm, algMD5) {
		rep, err := p.challenge(fqdn, false)
		return nil, rep, err
	}
	if c.QOP != "" && !qopAllowed(c.QOP, []string{qopAuth, qopAuthInt}) {
		return nil, reply{}, fmt.Errorf("%w: qop %q", ErrBadCredentials, c.QOP)
	}
	a := &authenticated{creds: c}
	switch {
	case c.Realm == gbaRealm:
		k, err := p.keys.NAFKey(ctx, c.Username, NAFID(fqdn, uaID(r)))
		if errors.Is(err, ErrBTIDUnknown) {
			// TS 24.109 §5.3.2: a fresh challenge makes the UE bootstrap again.
			p.log.Info("B-TID unknown or expired; UE must bootstrap again", "btid", c.Username)
			rep, err := p.challenge(fqdn, false)
			return nil, rep, err
		}
		if err != nil {
			return nil, reply{}, err
		}
		a.impi, a.identities = k.IMPI, k.Identities()
		a.ha1 = ha1(c.Username, c.Realm, []byte(base64.StdEncoding.EncodeToString(k.Key)))
	case p.users != nil && c.Realm == p.cfg.DigestRealm:
		h, impi, err := p.users.DigestHA1(ctx, c.Username, c.Realm)
		if errors.Is(err, ErrUnknownIMPI) {
			rep, err := p.challenge(fqdn, false)
			return nil, rep, err
		}
		if err != nil {
			return nil, reply{}, err
		}
		a.impi, a.ha1 = impi, h
	default:
		rep, err := p.challenge(fqdn, false)
		return nil, rep, err
	}
	bodyHash := ""
	if c.QOP == qopAuthInt {
		body, err := io.ReadAll(io.LimitReader(r.Body, p.cfg.MaxBody+1))
		if err != nil {
			return nil, reply{}, fmt.Errorf("%w: reading body: %v", ErrBadCredentials, err)
		}
		if int64(len(body)) > p.cfg.MaxBody {
			return nil, reply{}, errBodyTooLarge
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		bodyHash = md5Body(body)
	}
	if !responseMatches(c, digestResponse(a.ha1, c, r.Method, bodyHash)) {
		p.log.Info("wrong Digest response", "impi", a.impi, "realm", c.Realm)
		rep, err := p.challenge(fqdn, false)
		return nil, rep, err
	}
	if !p.useNonce(c) {
		// The response is right but the nonce is unknown, expired or replayed (RFC 2617 §3.2.1 stale).
		rep, err := p.challenge(fqdn, true)
		return nil, rep, err
	}
	return a, reply{}, nil
}

// useNonce accepts a nonce once per nc value while it is alive.
func (p *AuthProxy) useNonce(c credentials) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.nonces[c.Nonce]
	if n == nil {
		return false
	}
	if !p.now().Before(n.expires) || len(n.seen) >= maxNC {
		delete(p.nonces, c.Nonce)
		return false
	}
	if _, replay := n.seen[c.NC]; replay {
		return false
	}
	n.seen[c.NC] = struct{}{}
	return true
}

// challenge answers 401 with a GBA challenge (TS 24.109 §5.2.2) and, when plain Digest is
// on, a second one for the Digest realm.
func (p *AuthProxy) challenge(fqdn string, stale bool) (reply, error) {
	nonce, err := p.newNonce()
	if err != nil {
		return reply{}, err
	}
	rep := textReply(http.StatusUnauthorized, "authenticate with GBA (B-TID and Ks_NAF)")
	gba := digest.Challenge{Realm: GBARealmPrefix + fqdn, Nonce: nonce, Algorithm: algMD5, QOP: []string{qopAuth, qopAuthInt}, Stale: stale}
	rep.header.Add("WWW-Authenticate", gba.String())
	if p.users != nil {
		plain := digest.Challenge{Realm: p.cfg.DigestRealm, Nonce: nonce, Algorithm: algMD5, QOP: []string{qopAuth, qopAuthInt}, Stale: stale}
		rep.header.Add("WWW-Authenticate", plain.String())
	}
	return rep, nil
}

func (p *AuthProxy) newNonce() (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	nonce := base64.RawURLEncoding.EncodeToString(b[:])
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.nonces) >= p.cfg.MaxNonces {
		for k, n := range p.nonces {
			if !now.Before(n.expires) {
				delete(p.nonces, k)
			}
		}
		if len(p.nonces) >= p.cfg.MaxNonces {
			return "", errOverloaded
		}
	}
	p.nonces[nonce] = &nafNonce{expires: now.Add(p.cfg.NonceLifetime), seen: map[uint32]struct{}{}}
	return nonce, nil
}

// assert checks X-3GPP-Intended-Identity and returns the identity to assert (TS 24.109 §5.3.2).
func (p *AuthProxy) assert(r *http.Request, a *authenticated) (string, error) {
	allowed := append([]string(nil), a.identities...)
	if p.identities != nil {
		more, err := p.identities.Identities(r.Context(), a.impi)
		if err != nil && !errors.Is(err, ErrUnknownIMPI) {
			return "", err
		}
		allowed = append(allowed, more...)
	}
	intended := r.Header.Get(HeaderIntendedIdentity)
	if intended == "" {
		if len(allowed) == 0 {
			return "", fmt.Errorf("%s: %w", a.impi, errNoPublicIdentity)
		}
		return allowed[0], nil
	}
	if u, err := strconv.Unquote(strings.TrimSpace(intended)); err == nil {
		intended = u
	}
	for _, id := range allowed {
		if id == intended {
			return id, nil
		}
	}
	return "", fmt.Errorf("%q for %s: %w", intended, a.impi, errIdentityRefused)
}
