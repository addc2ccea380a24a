package bsf

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/icholy/digest"

	"github.com/imsps/imsps/as"
)

// Media type of the Ub 200 OK body (TS 24.109 Annex C, IANA).
const bsfContentType = "application/vnd.3gpp.bsf+xml"

// maxUbBody bounds the request body a Ub request may carry (auth-int hashes it).
const maxUbBody = 64 << 10

// ErrVectorsUnavailable is returned when the vector source cannot be reached (Zh down or
// DIAMETER_UNABLE_TO_COMPLY); Ub answers 503.
var ErrVectorsUnavailable = errors.New("authentication vectors unavailable")

// errOverloaded is returned when MaxPending challenges are outstanding.
var errOverloaded = errors.New("too many outstanding AKA challenges")

// BSF is the bootstrapping server function: Ub (HTTP Digest AKA, TS 24.109 §4), the store of
// bootstrapping sessions and the key service behind Zn.
type BSF struct {
	cfg     Config
	vectors VectorSource
	store   sessions
	log     *slog.Logger
	now     func() time.Time
	allowed map[string]bool

	mu      sync.Mutex
	pending map[string]*challenge // by nonce

	srvMu sync.Mutex
	srv   *http.Server
	stop  context.CancelFunc
}

// challenge is an outstanding AKA challenge (one nonce, one vector, one answer).
type challenge struct {
	impi    string
	vector  Vector
	guss    GUSS
	expires time.Time
}

// Option tunes an embeddable BSF or AuthProxy.
type Option func(*options)

type options struct {
	now         func() time.Time
	digestUsers DigestUsers
}

// WithClock replaces time.Now (tests drive expiry with it).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

func applyOptions(opts []Option) options {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

var _ KeyService = (*BSF)(nil)

// New builds a BSF. vectors is the Zh client or LocalVectors; store keeps bootstrapping
// sessions (as.BucketBootstrap).
func New(cfg Config, vectors VectorSource, store as.Store, log *slog.Logger, opts ...Option) (*BSF, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if vectors == nil || store == nil || log == nil {
		return nil, errors.New("bsf: vectors, store and log are required")
	}
	o := applyOptions(opts)
	b := &BSF{
		cfg:     cfg,
		vectors: vectors,
		store:   sessions{store: store},
		log:     log.With("component", "bsf"),
		now:     o.now,
		pending: map[string]*challenge{},
	}
	if len(cfg.AllowedNAFs) > 0 {
		b.allowed = map[string]bool{}
		for _, n := range cfg.AllowedNAFs {
			b.allowed[strings.ToLower(n)] = true
		}
	}
	return b, nil
}

// Handler returns the Ub HTTP handler.
func (b *BSF) Handler() http.Handler { return http.HandlerFunc(b.serveUb) }

// Serve serves Ub on l until ctx ends, and sweeps expired sessions meanwhile.
func (b *BSF) Serve(ctx context.Context, l net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := &http.Server{Handler: b.Handler(), ReadHeaderTimeout: 10 * time.Second}
	b.srvMu.Lock()
	b.srv, b.stop = srv, cancel
	b.srvMu.Unlock()
	go b.sweepLoop(ctx)
	return serveHTTP(ctx, srv, l, nil)
}

// Close stops serving and sweeping; it is idempotent.
func (b *BSF) Close() error {
	b.srvMu.Lock()
	defer b.srvMu.Unlock()
	if b.srv == nil {
		return nil
	}
	b.stop()
	return b.srv.Close()
}

func (b *BSF) sweepLoop(ctx context.Context) {
	t := time.NewTicker(b.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := b.store.sweep(ctx, b.now())
			if err != nil {
				b.log.Warn("sweep of expired bootstraps failed", "err", err)
			} else if n > 0 {
				b.log.Debug("expired bootstraps deleted", "count", n)
			}
			b.purgePending()
		}
	}
}

// Sweep deletes expired bootstrapping sessions now (Serve does it every sweep_interval).
func (b *BSF) Sweep(ctx context.Context) (int, error) { return b.store.sweep(ctx, b.now()) }

// NAFKey implements KeyService in process: the same answer a Zn BIA gives
// (TS 33.220 §4.5.3, TS 29.109 §6.2).
func (b *BSF) NAFKey(ctx context.Context, btid, nafID string) (NAFKey, error) {
	fqdn, _, ok := SplitNAFID(nafID)
	if !ok {
		return NAFKey{}, fmt.Errorf("NAF-Id %q: %w", nafID, ErrNAFNotAllowed)
	}
	if b.allowed != nil && !b.allowed[strings.ToLower(fqdn)] {
		return NAFKey{}, fmt.Errorf("NAF %s: %w", fqdn, ErrNAFNotAllowed)
	}
	s, err := b.store.get(ctx, btid, b.now())
	if err != nil {
		return NAFKey{}, err
	}
	return NAFKey{
		BTID:    s.BTID,
		IMPI:    s.IMPI,
		Key:     KsNAF(s.Ks, s.RAND, s.IMPI, nafID),
		Created: s.Created,
		Expires: s.Expires,
		USS:     s.GUSS.USS,
	}, nil
}

// reply is what a handler returns; one writer puts it on the wire (style rule 8).
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (b *BSF) serveUb(w http.ResponseWriter, r *http.Request) {
	rep, err := b.ub(r)
	if err != nil {
		rep = b.errorReply(err)
		b.log.Log(r.Context(), levelFor(rep.status), "Ub request failed", "status", rep.status, "err", err)
	}
	writeReply(w, rep)
}

// errorReply is the one place Ub errors become HTTP status codes.
func (b *BSF) errorReply(err error) reply {
	switch {
	case errors.Is(err, ErrBadCredentials):
		return textReply(http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrUnknownIMPI), errors.Is(err, ErrAUTSInvalid):
		return textReply(http.StatusForbidden, err.Error())
	case errors.Is(err, errOverloaded), errors.Is(err, ErrVectorsUnavailable), errors.Is(err, as.ErrStoreClosed):
		rep := textReply(http.StatusServiceUnavailable, "try again later")
		rep.header.Set("Retry-After", "5")
		return rep
	default:
		return textReply(http.StatusInternalServerError, "internal error")
	}
}

// ub runs one step of the bootstrapping procedure (TS 24.109 §5.2.1, RFC 3310 §3).
func (b *BSF) ub(r *http.Request) (reply, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		rep := textReply(http.StatusMethodNotAllowed, "GET or POST")
		rep.header.Set("Allow", "GET, POST")
		return rep, nil
	}
	ctx := r.Context()
	ah := r.Header.Get("Authorization")
	if ah == "" {
		return reply{}, fmt.Errorf("%w: Ub needs Authorization with the IMPI as username (TS 24.109 §5.2.1)", ErrBadCredentials)
	}
	c, err := parseCredentials(ah)
	if err != nil {
		return reply{}, err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxUbBody))
	if err != nil {
		return reply{}, fmt.Errorf("%w: reading body: %v", ErrBadCredentials, err)
	}
	log := b.log.With("impi", c.Username)
	if c.Nonce == "" {
		return b.challenge(ctx, c.Username, nil, false)
	}
	ch := b.take(c.Nonce)
	if ch == nil || ch.impi != c.Username {
		// Unknown, used or someone else's nonce: a fresh challenge (RFC 2617 §3.2.2, the nonce is single-use here).
		return b.challenge(ctx, c.Username, nil, false)
	}
	if c.Realm != b.cfg.ServerName || !strings.EqualFold(c.Algorithm, algAKAv1) {
		return b.challenge(ctx, c.Username, nil, false)
	}
	if c.URI != r.RequestURI {
		return reply{}, fmt.Errorf("%w: digest-uri %q is not the Request-URI %q (RFC 2617 §3.2.2.5)", ErrBadCredentials, c.URI, r.RequestURI)
	}
	if !qopAllowed(c.QOP, []string{qopAuthInt, qopAuth}) {
		return b.challenge(ctx, c.Username, nil, false)
	}
	bodyHash := md5Body(body)
	emptyHA1 := ha1(c.Username, c.Realm, nil)
	if c.AUTS != "" {
		// RFC 3310 §3: synchronisation failure; the response is computed with an empty password.
		if !responseMatches(c, digestResponse(emptyHA1, c, r.Method, bodyHash)) {
			log.Info("AUTS with a wrong response; new challenge")
			return b.challenge(ctx, c.Username, nil, false)
		}
		auts, err := base64.StdEncoding.DecodeString(c.AUTS)
		if err != nil || len(auts) != 14 {
			return reply{}, fmt.Errorf("%w: auts is not base64 of 14 octets", ErrBadCredentials)
		}
		log.Info("SQN resynchronisation requested")
		return b.challenge(ctx, c.Username, &Resync{RAND: ch.vector.RAND, AUTS: auts}, false)
	}
	keyHA1 := ha1(c.Username, c.Realm, ch.vector.XRES)
	switch {
	case responseMatches(c, digestResponse(keyHA1, c, r.Method, bodyHash)):
		if !b.now().Before(ch.expires) {
			return b.challenge(ctx, c.Username, nil, true)
		}
		return b.bootstrapped(ctx, c, ch, keyHA1)
	case responseMatches(c, digestResponse(emptyHA1, c, r.Method, bodyHash)):
		// RFC 3310 §3: the UE found AUTN invalid (MAC failure) and answered with an empty
		// password and no auts; the network is not authenticated, the vector is dropped and
		// a fresh one is offered (the UE decides whether to try again).
		log.Warn("UE rejected the network (AUTN MAC failure); new challenge")
		return b.challenge(ctx, c.Username, nil, false)
	default:
		log.Info("wrong Digest AKA response; new challenge")
		return b.challenge(ctx, c.Username, nil, false)
	}
}

// challenge fetches a vector and answers 401 with nonce = base64(RAND ‖ AUTN) (TS 24.109 §5.2.1).
func (b *BSF) challenge(ctx context.Context, impi string, resync *Resync, stale bool) (reply, error) {
	if !b.reserve() {
		return reply{}, errOverloaded
	}
	v, guss, err := b.vectors.AuthVector(ctx, impi, resync)
	if err != nil {
		return reply{}, err
	}
	nonce := base64.StdEncoding.EncodeToString(append(bytes.Clone(v.RAND), v.AUTN...))
	b.mu.Lock()
	b.pending[nonce] = &challenge{impi: impi, vector: v, guss: guss, expires: b.now().Add(b.cfg.ChallengeLifetime)}
	b.mu.Unlock()
	chal := digest.Challenge{
		Realm:     b.cfg.ServerName,
		Nonce:     nonce,
		Algorithm: algAKAv1,
		QOP:       []string{qopAuthInt, qopAuth},
		Stale:     stale,
	}
	rep := textReply(http.StatusUnauthorized, "bootstrapping: answer the AKA challenge")
	rep.header.Set("WWW-Authenticate", chal.String())
	return rep, nil
}

// bootstrapped stores the session and answers 200 with the BootstrappingInfo (TS 24.109 §5.2.1, Annex C).
func (b *BSF) bootstrapped(ctx context.Context, c credentials, ch *challenge, keyHA1 string) (reply, error) {
	now := b.now().UTC().Truncate(time.Second)
	s := Bootstrap{
		BTID:    BTID(ch.vector.RAND, b.cfg.ServerName),
		IMPI:    ch.impi,
		Ks:      ch.vector.Ks(),
		RAND:    ch.vector.RAND,
		Created: now,
		Expires: now.Add(b.cfg.KeyLifetime),
		GUSS:    ch.guss,
	}
	if err := b.store.put(ctx, s); err != nil {
		return reply{}, err
	}
	body := BootstrappingInfo{BTID: s.BTID, Lifetime: s.Expires}.Marshal()
	rep := reply{status: http.StatusOK, header: http.Header{}, body: body}
	rep.header.Set("Content-Type", bsfContentType)
	rep.header.Set("Expires", s.Expires.Format(http.TimeFormat))
	rep.header.Set("Authentication-Info", authenticationInfo(keyHA1, c, md5Body(body)))
	b.log.Info("bootstrapped", "impi", s.IMPI, "btid", s.BTID, "expires", s.Expires)
	return rep, nil
}

// take removes and returns the challenge of a nonce: each nonce is answered once.
func (b *BSF) take(nonce string) *challenge {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := b.pending[nonce]
	delete(b.pending, nonce)
	return ch
}

// reserve checks room for one more challenge, purging expired ones when full.
func (b *BSF) reserve() bool {
	b.mu.Lock()
	full := len(b.pending) >= b.cfg.MaxPending
	b.mu.Unlock()
	if !full {
		return true
	}
	b.purgePending()
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending) < b.cfg.MaxPending
}

func (b *BSF) purgePending() {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	for n, ch := range b.pending {
		if !now.Before(ch.expires) {
			delete(b.pending, n)
		}
	}
}

func textReply(status int, msg string) reply {
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	return reply{status: status, header: h, body: []byte(msg + "\n")}
}

func writeReply(w http.ResponseWriter, rep reply) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}
