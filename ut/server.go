package ut

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/configs"
)

// Server is the XCAP server of the Ut reference point (RFC 4825 over gin).
type Server struct {
	cfg    Config
	st     as.Store
	usages map[string]AppUsage
	auids  []string
	log    *slog.Logger
	auth   *authenticator
	cache  *parsedCache

	etagPrefix string
	seq        atomic.Uint64

	handler  http.Handler
	asserted http.Handler

	mu      sync.Mutex
	servers []*http.Server
	closed  bool
}

// New builds the server. usages are the application usages to serve (one per AUID);
// st holds documents, ETags and MIME objects. log may be nil.
func New(cfg Config, st as.Store, usages []AppUsage, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if st == nil {
		return nil, errors.New("ut.New: nil store")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, st: st, usages: map[string]AppUsage{}, log: log.With("component", "ut"),
		cache: newParsedCache(cfg.ParsedCacheBytes)}
	for i, au := range usages {
		if au == nil {
			return nil, fmt.Errorf("ut.New: usages[%d] is nil", i)
		}
		a := au.AUID()
		if a == "" || strings.ContainsAny(a, "/%\x00") {
			return nil, fmt.Errorf("ut.New: usages[%d]: bad AUID %q", i, a)
		}
		if _, dup := s.usages[a]; dup {
			return nil, fmt.Errorf("ut.New: AUID %q registered twice", a)
		}
		if a == cfg.MIME.AUID {
			return nil, fmt.Errorf("xcap.mime.auid: %q is also an application usage", a)
		}
		s.usages[a] = au
		s.auids = append(s.auids, a)
	}
	sort.Strings(s.auids)
	subs, err := configs.LoadSubscribers(cfg.SubscribersFile)
	if err != nil {
		return nil, fmt.Errorf("xcap.subscribers_file: %w", err)
	}
	s.auth = newAuthenticator(cfg, subs, time.Now)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	s.etagPrefix = hex.EncodeToString(b[:]) + "-"
	s.handler = s.engine(false)
	s.asserted = s.engine(true)
	return s, nil
}

func (s *Server) engine(trustAsserted bool) http.Handler {
	e := gin.New()
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = false
	h := func(c *gin.Context) { s.serve(c.Writer, c.Request, trustAsserted) }
	e.Any(strings.TrimSuffix(s.cfg.Root, "/")+"/*path", h)
	// Other methods below the root (405) and paths outside it (404) go the same way.
	e.NoRoute(h)
	return e
}

// Handler serves XCAP with the configured authentication: asserted identity from trusted
// proxies, Digest, Basic over TLS.
func (s *Server) Handler() http.Handler { return s.handler }

// AssertedHandler serves XCAP for the in-process authentication proxy: it believes
// X-3GPP-Asserted-Identity unconditionally and refuses requests without it (403). Never
// bind it to a listener.
func (s *Server) AssertedHandler() http.Handler { return s.asserted }

// requestReadTimeout bounds reading one whole request, body included: without it a body
// that stops half way (even one net/http drains after a 401) holds its connection for ever.
const requestReadTimeout = 2 * time.Minute

// Serve answers HTTP on l until ctx ends or Close is called.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout: max(requestReadTimeout, s.cfg.ReadHeaderTimeout),
		IdleTimeout: s.cfg.IdleTimeout, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return nil
	}
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	defer stop()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops every Serve loop and closes their connections.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	s.servers = nil
}

func (s *Server) newETag() string {
	return `"` + s.etagPrefix + strconv.FormatUint(s.seq.Add(1), 36) + `"`
}

// requestTarget returns the path and query as the client sent them.
func requestTarget(r *http.Request) (target, path, query string) {
	target = r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	path = target
	if i := strings.Index(path, "://"); i >= 0 && !strings.HasPrefix(path, "/") {
		if j := strings.IndexByte(path[i+3:], '/'); j >= 0 {
			path = path[i+3+j:]
		} else {
			path = "/"
		}
	}
	path, query, _ = strings.Cut(path, "?")
	return target, path, query
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, trustAsserted bool) {
	rep, err := s.handle(r, trustAsserted)
	if err != nil {
		status, hdr, body := answer(err)
		for k, v := range hdr {
			w.Header()[k] = v
		}
		if rep.etag != "" && (status == http.StatusNotModified || status == http.StatusPreconditionFailed) {
			w.Header().Set("ETag", rep.etag)
		}
		if status >= 500 {
			s.log.Error("xcap request failed", "method", r.Method, "uri", r.RequestURI, "status", status, "err", err)
		} else {
			s.log.Debug("xcap request refused", "method", r.Method, "uri", r.RequestURI, "status", status, "err", err)
		}
		w.WriteHeader(status)
		if len(body) > 0 {
			_, _ = w.Write(body)
		}
		return
	}
	if rep.contentType != "" {
		w.Header().Set("Content-Type", rep.contentType)
	}
	if rep.etag != "" {
		w.Header().Set("ETag", rep.etag)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	if len(rep.body) > 0 && r.Method != http.MethodHead {
		_, _ = w.Write(rep.body)
	}
}

// handle is one request: authenticate, parse, authorize, dispatch.
func (s *Server) handle(r *http.Request, trustAsserted bool) (reply, error) {
	target, path, query := requestTarget(r)
	if _, ok := cutRoot(s.cfg.Root, path); !ok {
		return reply{}, ErrNotFound
	}
	id, err := s.auth.authenticate(r, target, trustAsserted)
	if err != nil {
		return reply{}, err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
	default:
		return reply{}, &MethodNotAllowedError{Allow: "GET, PUT, DELETE"}
	}
	u, err := ParseURI(s.cfg.Root, path, query)
	if err != nil {
		return reply{}, err
	}
	write := r.Method == http.MethodPut || r.Method == http.MethodDelete
	if _, gen := s.usages[u.AUID].(Generator); gen && write {
		// Generated documents are read-only for everyone (the AUID list is public in xcap-caps).
		return reply{}, &MethodNotAllowedError{Allow: "GET"}
	}
	if err := authorize(id, u, write); err != nil {
		return reply{}, err
	}
	// One tree per user, however the client spells the scheme and domain of the XUI.
	u.XUI = canonXUI(u.XUI)
	ctx := r.Context()
	if s.cfg.MIME.AUID != "" && u.AUID == s.cfg.MIME.AUID {
		return s.mimeObject(ctx, r, u)
	}
	au, ok := s.usages[u.AUID]
	if !ok || u.Document == "" {
		return reply{}, ErrNotFound
	}
	if u.Node != nil {
		if err := (nameSpace{au.DefaultNamespace(), u.Namespaces}).check(u.Node); err != nil {
			return reply{}, err
		}
	}
	if gen, ok := au.(Generator); ok { // writes were refused above
		return s.getGenerated(ctx, r, u, au, gen)
	}
	if gg, ok := au.(GlobalGenerator); ok && u.Key().Global() {
		if write {
			return reply{}, &MethodNotAllowedError{Allow: "GET"}
		}
		return s.getGenerated(ctx, r, u, au, gg.GlobalGenerator())
	}
	switch r.Method {
	case http.MethodPut:
		return s.put(ctx, r, u, au)
	case http.MethodDelete:
		return s.delete(ctx, r, u, au)
	}
	return s.get(ctx, r, u, au)
}

// absolute is the URI of u as the client addressed the server, for no-parent ancestors.
func (s *Server) absolute(r *http.Request, u URI) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + strings.TrimSuffix(s.cfg.Root, "/") + u.String()
}

func (s *Server) ancestors(r *http.Request, u URI) ancestorFunc {
	return func(n int) string {
		a := u
		a.Node = nil
		if n > 0 {
			a.Node = u.Node.prefix(n)
		} else {
			a.Namespaces = nil
		}
		return s.absolute(r, a)
	}
}

func (s *Server) get(ctx context.Context, r *http.Request, u URI, au AppUsage) (reply, error) {
	key := u.Key()
	var (
		found bool
		etag  string
		body  []byte
		doc   *xdoc
	)
	err := s.st.View(ctx, func(tx as.Tx) error {
		v := tx.Get(as.BucketDocuments, docKey(key))
		if v == nil {
			found = false
			return nil
		}
		found = true
		var b []byte
		var err error
		if etag, _, b, err = decodeRecord(v, false); err != nil {
			return fmt.Errorf("%s: %w", docKey(key), err)
		}
		if u.Node != nil {
			if doc = s.cache.get(key, etag); doc != nil {
				return nil
			}
		}
		body = bytes.Clone(b)
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	if err := preconditions(r, found, etag); err != nil {
		return reply{etag: etag}, err
	}
	if !found {
		return reply{}, ErrNotFound
	}
	return s.selectFrom(u, au, etag, body, doc)
}

// selectFrom answers a GET from a document's bytes (or its cached parse).
func (s *Server) selectFrom(u URI, au AppUsage, etag string, body []byte, doc *xdoc) (reply, error) {
	if u.Node == nil {
		return reply{status: http.StatusOK, contentType: au.MediaType(), etag: etag, body: body}, nil
	}
	if doc == nil {
		var err error
		if doc, err = parseXML(body); err != nil {
			return reply{}, fmt.Errorf("stored document %s/%s/%s: %w", u.AUID, u.XUI, u.Document, err)
		}
		s.cache.put(u.Key(), etag, doc)
	}
	b, ct, err := getNode(doc, nameSpace{au.DefaultNamespace(), u.Namespaces}, u.Node)
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, contentType: ct, etag: etag, body: b}, nil
}

func (s *Server) getGenerated(ctx context.Context, r *http.Request, u URI, au AppUsage, gen Generator) (reply, error) {
	var body []byte
	err := s.st.View(ctx, func(tx as.Tx) error {
		var err error
		body, err = gen.Generate(ctx, u.Key(), txReader{tx: tx, auids: s.auids})
		return err
	})
	if err != nil {
		return reply{}, err
	}
	found := body != nil
	sum := sha256.Sum256(body)
	etag := `"g-` + hex.EncodeToString(sum[:12]) + `"`
	if err := preconditions(r, found, etag); err != nil {
		return reply{etag: etag}, err
	}
	if !found {
		return reply{}, ErrNotFound
	}
	return s.selectFrom(u, au, etag, body, nil)
}

func mediaType(h string) string {
	mt, _, err := mime.ParseMediaType(h)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(h))
	}
	return mt
}

// readBody reads at most limit bytes; more is a 413.
func readBody(r *http.Request, limit int, what string) ([]byte, error) {
	if r.ContentLength > int64(limit) {
		return nil, &TooLargeError{What: what}
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(b) > limit {
		return nil, &TooLargeError{What: what}
	}
	return b, nil
}

func (s *Server) put(ctx context.Context, r *http.Request, u URI, au AppUsage) (reply, error) {
	key := u.Key()
	if u.Node != nil && u.Node.Namespaces {
		return reply{}, &MethodNotAllowedError{Allow: "GET"}
	}
	body, err := readBody(r, s.cfg.MaxDocumentSize, "document")
	if err != nil {
		return reply{}, err
	}
	// Problems with the body are reported after the preconditions (RFC 4825 §7.11: the
	// preconditions come first), so they are only computed here.
	var bodyErr error
	want := au.MediaType()
	switch {
	case u.Node == nil:
	case u.Node.Attribute != nil:
		want = mimeXCAPAttribute
	default:
		want = mimeXCAPElement
	}
	var parsed *xdoc
	if got := mediaType(r.Header.Get("Content-Type")); got != want {
		bodyErr = &UnsupportedMediaTypeError{Got: got, Want: want}
	} else if u.Node == nil {
		if parsed, err = parseXML(body); err != nil {
			bodyErr = xmlConflict(err, false)
		}
	}
	if bodyErr == nil {
		if namer, ok := au.(DocumentNamer); ok {
			bodyErr = namer.AllowName(key)
		}
	}
	if u.Node == nil {
		return s.commit(ctx, r, u, au, func(cur *xdoc, exists bool) (*xdoc, bool, error) {
			if bodyErr != nil {
				return nil, false, bodyErr
			}
			return parsed, !exists, nil
		})
	}
	ns := nameSpace{au.DefaultNamespace(), u.Namespaces}
	return s.commit(ctx, r, u, au, func(cur *xdoc, exists bool) (*xdoc, bool, error) {
		if bodyErr != nil {
			return nil, false, bodyErr
		}
		if !exists {
			return nil, false, &Conflict{Tag: "no-parent", Ancestor: s.absolute(r, URI{AUID: u.AUID, XUI: u.XUI})}
		}
		var nd *xdoc
		var created bool
		var err error
		if u.Node.Attribute != nil {
			nd, created, err = putAttribute(cur, ns, u.Node, body, s.ancestors(r, u))
		} else {
			nd, created, err = putElement(cur, ns, u.Node, body, s.ancestors(r, u))
		}
		if err == nil && len(nd.src) > s.cfg.MaxDocumentSize {
			return nil, false, &TooLargeError{What: "document"}
		}
		return nd, created, err
	})
}

func (s *Server) delete(ctx context.Context, r *http.Request, u URI, au AppUsage) (reply, error) {
	if u.Node != nil && u.Node.Namespaces {
		return reply{}, &MethodNotAllowedError{Allow: "GET"}
	}
	ns := nameSpace{au.DefaultNamespace(), u.Namespaces}
	rep, err := s.commit(ctx, r, u, au, func(cur *xdoc, exists bool) (*xdoc, bool, error) {
		if !exists {
			return nil, false, ErrNotFound
		}
		if u.Node == nil {
			return nil, false, nil // the document goes
		}
		nd, err := deleteNode(cur, ns, u.Node)
		return nd, false, err
	})
	if err != nil {
		return rep, err
	}
	rep.status = http.StatusOK
	return rep, nil
}

// errSnapshotStale makes commit try again: the document changed between the snapshot the
// edit was computed on and the write transaction.
var errSnapshotStale = errors.New("document changed meanwhile")

// editFunc computes the new document from the current one (nil and !exists when there is
// none). It returns nil to delete the document, and whether the write created something.
type editFunc func(cur *xdoc, exists bool) (next *xdoc, created bool, err error)

// commit runs a write: preconditions, the edit, the document limits, the usage's Check,
// and the store write. The edit (parsing and splicing) runs on a snapshot outside the
// store's write transaction, so that group commits are not held up by XML work; the write
// transaction re-checks that the document is still the snapshot (its ETag) and otherwise
// starts again. Preconditions are evaluated before anything else.
func (s *Server) commit(ctx context.Context, r *http.Request, u URI, au AppUsage, edit editFunc) (reply, error) {
	key := u.Key()
	for attempt := 0; ; attempt++ {
		snapETag, snap, exists, err := s.snapshot(ctx, key)
		if err != nil {
			return reply{}, err
		}
		if err := preconditions(r, exists, snapETag); err != nil {
			return reply{}, err
		}
		next, created, err := edit(snap, exists)
		if err != nil {
			return reply{}, err
		}
		etag := s.newETag()
		var body []byte
		if next != nil {
			body = next.src
		}
		err = s.st.Update(ctx, func(tx as.Tx) error {
			v := tx.Get(as.BucketDocuments, docKey(key))
			cur := ""
			if v != nil {
				var err error
				if cur, _, _, err = decodeRecord(v, false); err != nil {
					return fmt.Errorf("%s: %w", docKey(key), err)
				}
			}
			if (v != nil) != exists || cur != snapETag {
				return errSnapshotStale
			}
			if next == nil {
				return tx.Delete(as.BucketDocuments, docKey(key))
			}
			if !exists && !key.Global() {
				n, err := countUserDocs(tx, s.auids, key.XUI)
				if err != nil {
					return err
				}
				if n >= s.cfg.MaxDocumentsPerUser {
					return &TooLargeError{What: "documents per user"}
				}
			}
			if err := au.Check(ctx, Candidate{Key: key, Body: body,
				Documents: txReader{tx: tx, auids: s.auids, pending: &key, pendingDoc: body}}); err != nil {
				return err
			}
			return tx.Put(as.BucketDocuments, docKey(key), encodeRecord(etag, "", false, body))
		})
		if errors.Is(err, errSnapshotStale) && attempt < 100 {
			continue
		}
		if err != nil {
			return reply{}, err
		}
		if next != nil {
			s.cache.put(key, etag, next)
		}
		s.changed(ctx, au, key, body)
		if next == nil {
			return reply{status: http.StatusOK}, nil
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return reply{status: status, etag: etag}, nil
	}
}

// snapshot reads a document's ETag and parsed content (from the cache when it is current).
func (s *Server) snapshot(ctx context.Context, key DocumentKey) (etag string, doc *xdoc, exists bool, err error) {
	var body []byte
	err = s.st.View(ctx, func(tx as.Tx) error {
		v := tx.Get(as.BucketDocuments, docKey(key))
		if v == nil {
			return nil
		}
		exists = true
		var b []byte
		var err error
		if etag, _, b, err = decodeRecord(v, false); err != nil {
			return fmt.Errorf("%s: %w", docKey(key), err)
		}
		if doc = s.cache.get(key, etag); doc == nil {
			body = bytes.Clone(b)
		}
		return nil
	})
	if err != nil || !exists || doc != nil {
		return etag, doc, exists, err
	}
	if doc, err = parseXML(body); err != nil {
		return "", nil, false, fmt.Errorf("stored document %s: %w", docKey(key), err)
	}
	s.cache.put(key, etag, doc)
	return etag, doc, true, nil
}

// changed tells an observing application usage after the commit.
func (s *Server) changed(ctx context.Context, au AppUsage, key DocumentKey, body []byte) {
	if obs, ok := au.(ChangeObserver); ok {
		obs.Changed(context.WithoutCancel(ctx), key, body)
	}
}

// preconditions evaluates If-Match and If-None-Match (RFC 9110 §13.1, RFC 4825 §7.11)
// against the document's current ETag.
func preconditions(r *http.Request, exists bool, etag string) error {
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	if im := r.Header.Values("If-Match"); len(im) > 0 {
		if !exists || !etagListMatch(im, etag, true) {
			return ErrPreconditionFailed
		}
	}
	if inm := r.Header.Values("If-None-Match"); len(inm) > 0 {
		if exists && etagListMatch(inm, etag, false) {
			if read {
				return errNotModified
			}
			return ErrPreconditionFailed
		}
	}
	return nil
}

func etagListMatch(values []string, etag string, strong bool) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "*" {
				return true
			}
			weak := strings.HasPrefix(t, "W/")
			if weak {
				if strong {
					continue
				}
				t = t[2:]
			}
			if t == etag || t == `"`+etag+`"` {
				return true
			}
		}
	}
	return false
}
