package isc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/imsps/imsps/as"
)

// Presence is what the SIP adapter needs from the presence core (as.Agent implements it).
type Presence interface {
	Publish(ctx context.Context, r as.PublishRequest) (as.PublishResult, error)
	Subscribe(ctx context.Context, r as.SubscribeRequest) (as.SubscribeResult, error)
	// Packages lists the supported Event tokens (for Allow-Events).
	Packages() []string
}

// ErrServerClosed is returned by Serve after Close, and by Notify once the SIP stack is shut down.
var ErrServerClosed = errors.New("isc: server closed")

// errDraining answers requests that arrive while the server shuts down (503).
var errDraining = errors.New("shutting down")

// Server is the SIP side of imsps: it receives PUBLISH and SUBSCRIBE on the ISC
// interface and hands them to the presence core.
type Server struct {
	cfg     Config
	p       Presence
	n       *Notifier
	sip     *sipgo.Server
	log     *slog.Logger
	trusted []netip.Prefix
	allow   string
	// completed answers retransmitted non-INVITE requests over UDP after their final
	// response (RFC 3261 §17.2.2), so that sipgo's transaction can end at once.
	completed *responseCache
	wire      sync.Pool // *bytes.Buffer for serializing cached responses
	// tcpIdle and tcpMax are the TCP limits (WithTCPLimits).
	tcpIdle time.Duration
	tcpMax  int

	mu       sync.Mutex
	self     []hostPort
	serving  bool
	draining bool
	inflight sync.WaitGroup

	stop      chan struct{}
	stopOnce  sync.Once
	served    chan struct{} // closed when Serve has finished shutting down
	closeOnce sync.Once
}

// allowMethods lists the methods imsps handles; everything else is answered 405 with it
// as Allow (RFC 3261 §8.2.1).
const allowMethods = "PUBLISH, SUBSCRIBE, OPTIONS"

// New builds the SIP server over the stack n (shared with the NOTIFY sender, so that
// NOTIFYs leave from the listening sockets). p is the presence core.
func New(cfg Config, p Presence, n *Notifier, log *slog.Logger, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("isc: nil Presence")
	}
	if n == nil {
		return nil, errors.New("isc: nil Notifier")
	}
	if log == nil {
		return nil, errors.New("isc: nil logger")
	}
	trusted, err := parseTrusted(cfg.TrustedPeers)
	if err != nil {
		return nil, err
	}
	log = log.With("component", "isc")
	srv, err := sipgo.NewServer(n.ua, sipgo.WithServerLogger(newStackLog(log)))
	if err != nil {
		return nil, fmt.Errorf("isc: sip server: %w", err)
	}
	s := &Server{
		cfg:     cfg,
		p:       p,
		n:       n,
		sip:     srv,
		log:     log,
		trusted: trusted,
		allow:   allowMethods,
		stop:    make(chan struct{}),
		served:  make(chan struct{}),
		// Timer J is 64*T1 (RFC 3261 §17.2.2); sip.T1 is read, never set, here.
		completed: newResponseCache(64*sip.T1, defaultResponseCacheBytes, time.Now),
		tcpIdle:   DefaultTCPIdleTimeout,
		tcpMax:    DefaultTCPMaxConnections,
	}
	if cfg.Host != "" {
		s.self = append(s.self, splitHostPortLoose(cfg.Host))
	}
	for _, a := range cfg.Aliases {
		s.self = append(s.self, splitHostPortLoose(a))
	}
	srv.OnPublish(s.handle(s.publish))
	srv.OnSubscribe(s.handle(s.subscribe))
	srv.OnOptions(s.handle(s.options))
	srv.OnCancel(s.handle(s.cancel))
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {}) // imsps has no INVITE dialogs
	srv.OnNoRoute(s.handle(s.unknownMethod))
	for _, opt := range opts {
		opt(s)
	}
	return s, nil
}

// Listen binds the UDP and TCP listeners of cfg (either may be nil when its address is
// empty). A bind failure names the key. Serve sets the UDP socket buffers.
func Listen(ctx context.Context, cfg Config) (net.PacketConn, net.Listener, error) {
	var lc net.ListenConfig
	var udp net.PacketConn
	var tcp net.Listener
	var err error
	if cfg.UDP != "" {
		udp, err = lc.ListenPacket(ctx, "udp", cfg.UDP)
		if err != nil {
			return nil, nil, fmt.Errorf("sip.udp %s: %w", cfg.UDP, err)
		}
	}
	if cfg.TCP != "" {
		tcp, err = lc.Listen(ctx, "tcp", cfg.TCP)
		if err != nil {
			if udp != nil {
				udp.Close()
			}
			return nil, nil, fmt.Errorf("sip.tcp %s: %w", cfg.TCP, err)
		}
	}
	return udp, tcp, nil
}

// Serve answers SIP requests on udp and tcp (either may be nil) until ctx ends or Close is
// called, then shuts down gracefully: new requests get 503, the TCP listener stops
// accepting, in-flight transactions and NOTIFYs finish, then the sockets close. It returns
// nil after a graceful stop, or the error of a listener that failed.
func (s *Server) Serve(ctx context.Context, udp net.PacketConn, tcp net.Listener) error {
	if udp == nil && tcp == nil {
		return errors.New("isc: Serve needs a UDP or a TCP listener")
	}
	s.mu.Lock()
	if s.serving || s.draining {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.serving = true
	if udp != nil {
		s.self = append(s.self, splitHostPortLoose(udp.LocalAddr().String()))
	}
	if tcp != nil {
		s.self = append(s.self, splitHostPortLoose(tcp.Addr().String()))
	}
	s.mu.Unlock()
	defer close(s.served)

	if uc, ok := udp.(interface {
		SetReadBuffer(int) error
		SetWriteBuffer(int) error
	}); ok {
		if s.cfg.UDPReadBuffer > 0 {
			if err := uc.SetReadBuffer(s.cfg.UDPReadBuffer); err != nil {
				s.log.Warn("cannot set UDP receive buffer", "bytes", s.cfg.UDPReadBuffer, "err", err)
			}
		}
		if s.cfg.UDPWriteBuffer > 0 {
			if err := uc.SetWriteBuffer(s.cfg.UDPWriteBuffer); err != nil {
				s.log.Warn("cannot set UDP send buffer", "bytes", s.cfg.UDPWriteBuffer, "err", err)
			}
		}
	}
	if err := s.n.attach(udp, tcp); err != nil {
		return err
	}

	errc := make(chan error, 2)
	if udp != nil {
		s.log.Info("listening", "transport", "udp", "addr", udp.LocalAddr().String())
		rc := &readyConn{PacketConn: udp, ready: s.n.udpReady}
		go func() { errc <- s.sip.ServeUDP(rc) }()
	}
	if tcp != nil {
		s.log.Info("listening", "transport", "tcp", "addr", tcp.Addr().String())
		tl := &tcpListener{Listener: tcp, log: s.log, idle: s.tcpIdle, maxConns: s.tcpMax}
		go func() { errc <- s.sip.ServeTCP(tl) }()
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case <-s.stop:
	case err := <-errc:
		serveErr = fmt.Errorf("isc: listener stopped: %w", err)
	}
	s.shutdown(udp, tcp)
	return serveErr
}

// TCP limits against connection floods: every accepted connection holds a goroutine and
// read buffers (32 KiB, plus up to 64 KiB of a message being assembled) while it is open.
const (
	// DefaultTCPIdleTimeout closes an accepted connection that sends nothing for this long.
	DefaultTCPIdleTimeout = 5 * time.Minute
	// DefaultTCPMaxConnections bounds the accepted connections open at once (about 400 MiB
	// of buffers at worst); more are closed as soon as they are accepted.
	DefaultTCPMaxConnections = 4096
)

// WithTCPLimits sets the idle timeout and the bound on open accepted TCP connections
// (defaults DefaultTCPIdleTimeout and DefaultTCPMaxConnections; 0 disables either).
func WithTCPLimits(idle time.Duration, maxConns int) Option {
	return func(s *Server) { s.tcpIdle, s.tcpMax = idle, maxConns }
}

// tcpListener is what the SIP stack accepts from. It keeps accepting through the errors a
// peer can cause, such as running out of file descriptors under a connection flood
// (EMFILE), which end the stack's accept loop and Serve with it: it waits (5 ms doubling
// to 1 s) and tries again until the listener is closed. It closes connections beyond
// maxConns at once, and gives each accepted connection an idle read timeout.
type tcpListener struct {
	net.Listener
	log      *slog.Logger
	idle     time.Duration
	maxConns int
	open     atomic.Int64
	refusing atomic.Bool
}

func (l *tcpListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.log.Warn("TCP accept failed, retrying", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if l.maxConns > 0 && l.open.Load() >= int64(l.maxConns) {
			if !l.refusing.Swap(true) {
				l.log.Warn("TCP connections at the bound, closing new ones", "bound", l.maxConns, "remote", c.RemoteAddr().String())
			}
			c.Close()
			continue
		}
		l.refusing.Store(false)
		l.open.Add(1)
		return &tcpConn{Conn: c, idle: l.idle, closed: func() { l.open.Add(-1) }}, nil
	}
}

// tcpConn sets a read deadline before every read, so a connection that sends nothing for
// idle ends (the stack then closes it).
type tcpConn struct {
	net.Conn
	idle   time.Duration
	once   sync.Once
	closed func()
}

func (c *tcpConn) Read(b []byte) (int, error) {
	if c.idle > 0 {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	}
	return c.Conn.Read(b)
}

func (c *tcpConn) Close() error {
	c.once.Do(c.closed)
	return c.Conn.Close()
}

// shutdown drains in-flight work, then closes the sockets.
func (s *Server) shutdown(udp net.PacketConn, tcp net.Listener) {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	if tcp != nil {
		tcp.Close()
	}
	s.inflight.Wait()
	s.n.Close() // waits for in-flight NOTIFYs, then closes the SIP stack
	if udp != nil {
		udp.Close()
	}
	s.log.Info("stopped")
}

// Close stops Serve (if running) and waits for its graceful shutdown. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stopOnce.Do(func() { close(s.stop) })
		s.mu.Lock()
		serving := s.serving
		s.draining = true
		s.mu.Unlock()
		if serving {
			<-s.served
		} else {
			s.n.Close()
		}
	})
	return nil
}

// enter registers an in-flight request; false while draining.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.inflight.Add(1)
	return true
}

// reply is what a method handler returns: the response, and what to do once it is on the
// wire (for SUBSCRIBE: let the agent send the first NOTIFY, RFC 6665 §4.2.1.1).
type reply struct {
	res    *sip.Response
	onSent func()
}

type methodHandler func(ctx context.Context, req *sip.Request) (reply, error)

// handle is the one wrapper that writes responses and logs outcomes (style rule 8).
func (s *Server) handle(h methodHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		key, cacheable := s.completedKey(req)
		if cacheable && s.retransmission(key, req, tx) {
			return
		}
		var rep reply
		var err error
		if err = cleanEchoed(req); err != nil {
			// answered 400 below, with the offending value cleaned
		} else if s.enter() {
			defer s.inflight.Done()
			// sip.ServerTransactionContext (sipgo v1.7.2) returns a context that is already
			// cancelled: it cancels when registering its OnTerminate hook succeeds. So the
			// context is made here, ended when the transaction terminates or the handler returns.
			ctx, cancel := context.WithCancel(context.Background())
			tx.OnTerminate(func(string, error) { cancel() })
			rep, err = s.call(ctx, h, req)
			cancel()
		} else {
			err = errDraining
		}
		log := func(level slog.Level, msg string, args ...any) {
			if s.log.Enabled(context.Background(), level) {
				args = append([]any{"method", req.Method.String(), "call_id", callID(req), "aor", logAOR(req.Recipient.String())}, args...)
				s.log.Log(context.Background(), level, msg, args...)
			}
		}
		if err != nil {
			res, unexpected := s.errorResponse(req, err)
			rep.res = res
			if unexpected {
				log(slog.LevelError, "request failed", "status", res.StatusCode, "err", err)
			} else {
				log(slog.LevelDebug, "request rejected", "status", res.StatusCode, "err", err)
			}
		} else {
			log(slog.LevelDebug, "request answered", "status", rep.res.StatusCode)
		}
		// A final response to a non-INVITE request over UDP goes into the cache, which is the
		// transaction's Completed state from then on (RFC 3261 §17.2.2): sipgo's transaction
		// ends before the response is on the wire, so a retransmission finds either that
		// transaction still Trying (absorbed) or the cache.
		if !cacheable || !s.complete(key, req, rep.res, tx) {
			if werr := tx.Respond(rep.res); werr != nil {
				log(slog.LevelWarn, "cannot send response", "status", rep.res.StatusCode, "err", werr)
			}
		}
		if rep.onSent != nil {
			rep.onSent()
		}
	}
}

// call runs a method handler; a panic (the SIP stack recovers none, so one request would
// end the process) becomes an error, answered 500 and logged with its stack.
func (s *Server) call(ctx context.Context, h methodHandler, req *sip.Request) (rep reply, err error) {
	defer func() {
		if r := recover(); r != nil {
			rep, err = reply{}, fmt.Errorf("isc: handler panic: %v\n%s", r, debug.Stack())
		}
	}()
	return h(ctx, req)
}

// cleanEchoed refuses a request whose Call-ID or CSeq, which every response echoes as
// received, holds a control character: the SIP stack keeps a bare LF or CR inside those
// values, and echoing it would start a header line of the peer's choosing in the answer
// (RFC 3261 §7.3.1, §25.1 allow none there). The value is cleaned so the 400 is safe to send.
func cleanEchoed(req *sip.Request) error {
	clean := func(v string) string {
		return strings.Map(func(r rune) rune {
			if isControl(r) {
				return ' '
			}
			return r
		}, v)
	}
	if cid := req.CallID(); cid != nil && strings.ContainsFunc(string(*cid), isControl) {
		bad := string(*cid)
		*cid = sip.CallIDHeader(clean(bad))
		return headerError("Call-ID", bad, "control character")
	}
	if cseq := req.CSeq(); cseq != nil && strings.ContainsFunc(string(cseq.MethodName), isControl) {
		bad := string(cseq.MethodName)
		cseq.MethodName = sip.RequestMethod(clean(bad))
		return headerError("CSeq", bad, "control character")
	}
	return nil
}

// commonHeaders adds the headers every response carries.
func (s *Server) commonHeaders(res *sip.Response) {
	setHeader(res, hdrServer, s.cfg.UserAgent)
}

// ok builds a 2xx response with the common headers.
func (s *Server) ok(req *sip.Request) *sip.Response {
	res := sip.NewResponseFromRequest(req, StatusOK, reasonPhrase(StatusOK), nil)
	s.commonHeaders(res)
	return res
}

// options answers OPTIONS (RFC 3261 §11) with what imsps supports.
func (s *Server) options(ctx context.Context, req *sip.Request) (reply, error) {
	res := s.ok(req)
	setHeader(res, hdrAllow, s.allow)
	setHeader(res, hdrAllowEvents, strings.Join(s.p.Packages(), ", "))
	setHeader(res, hdrAccept, mediaPIDF)
	return reply{res: res}, nil
}

// unknownMethod answers 405 with Allow (RFC 3261 §8.2.1).
func (s *Server) unknownMethod(ctx context.Context, req *sip.Request) (reply, error) {
	res := sip.NewResponseFromRequest(req, StatusMethodNotAllowed, reasonPhrase(StatusMethodNotAllowed), nil)
	setHeader(res, hdrAllow, s.allow)
	s.commonHeaders(res)
	return reply{res: res}, nil
}

// cancel answers a CANCEL: imsps answers every request at once and has no INVITE
// transaction a CANCEL could match (RFC 3261 §9.2: 481).
func (s *Server) cancel(ctx context.Context, req *sip.Request) (reply, error) {
	res := sip.NewResponseFromRequest(req, StatusCallDoesNotExist, reasonPhrase(StatusCallDoesNotExist), nil)
	s.commonHeaders(res)
	return reply{res: res}, nil
}

// checkRequire rejects a Require header naming any option (RFC 3261 §8.2.2.3: imsps
// supports no SIP extension that a request may require).
func checkRequire(require []string) error {
	var opts []string
	for _, v := range require {
		for _, o := range splitList(v) {
			if o != "" {
				opts = append(opts, o)
			}
		}
	}
	if len(opts) > 0 {
		return &unsupportedExtensionError{Options: opts}
	}
	return nil
}

func callID(req *sip.Request) string {
	if c := req.CallID(); c != nil {
		return c.Value()
	}
	return ""
}

// warnAgent is the warn-agent of our Warning headers: our host, else "imsps".
func (s *Server) warnAgent() string {
	if s.cfg.Host != "" {
		return s.cfg.Host
	}
	if self := s.selves(); len(self) > 0 {
		return hostForURI(self[0].host)
	}
	return "imsps"
}

func hostForURI(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// readyConn reports the first read on a UDP listener: sipgo registers the listener for
// sending before it starts reading.
type readyConn struct {
	net.PacketConn
	once  sync.Once
	ready func()
}

func (c *readyConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.once.Do(c.ready)
	return c.PacketConn.ReadFrom(b)
}

// logAOR logs a URI as its canonical AOR (as.ParseAOR), computed only when the line is
// written. Canonicalization proper is the presence core's: isc passes raw URIs.
type logAOR string

func (v logAOR) LogValue() slog.Value {
	if a, err := as.ParseAOR(string(v)); err == nil {
		return slog.StringValue(string(a))
	}
	return slog.StringValue(string(v))
}
