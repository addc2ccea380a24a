package peer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	gdict "github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/imsps/imsps/diameter/dict"
)

// MaxMessageLength bounds an incoming message; longer ones close the connection.
const MaxMessageLength = 1 << 20

// Tap sees every message a connection sends (out) or receives, as raw bytes. Tests use it
// to write a capture for a wire check.
type Tap func(out bool, local, remote net.Addr, msg []byte)

// Options are the settings every connection shares.
type Options struct {
	Local    Identity
	Dict     *gdict.Parser // base + the applications served (dict.New)
	Mux      *Mux          // request handlers; nil serves nothing (every request gets 3001)
	Watchdog time.Duration // Tw of RFC 3539: DWR after this long without traffic; 0 means 30 s
	// MaxInFlight bounds concurrent handlers per connection; more get DIAMETER_TOO_BUSY. 0 means 256.
	MaxInFlight int
	Tap         Tap
	Log         *slog.Logger
}

func (o Options) withDefaults() Options {
	o.Local = o.Local.withDefaults()
	if o.Watchdog <= 0 {
		o.Watchdog = 30 * time.Second
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 256
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Conn is one Diameter connection after a successful capabilities exchange.
type Conn struct {
	nc     net.Conn
	opt    Options
	remote Remote
	log    *slog.Logger

	wmu sync.Mutex // serialises writes

	mu      sync.Mutex
	pending map[uint32]chan *diam.Message
	err     error // why the connection ended

	hbh      atomic.Uint32
	e2e      atomic.Uint32
	lastRead atomic.Int64
	closing  atomic.Bool // DPR sent or received: no new requests (RFC 6733 §5.4)
	sem      chan struct{}

	done     chan struct{}
	doneOnce sync.Once
	warned   atomic.Bool // a malformed message was logged at warning level
	// dprCause is the Disconnect-Cause of a DPR the peer sent, -1 if none.
	dprCause atomic.Int32
}

func newConn(nc net.Conn, opt Options) *Conn {
	c := &Conn{
		nc:      nc,
		opt:     opt,
		pending: map[uint32]chan *diam.Message{},
		sem:     make(chan struct{}, opt.MaxInFlight),
		done:    make(chan struct{}),
	}
	c.hbh.Store(rand.Uint32())
	// RFC 6733 §3: end-to-end id = low 12 bits of the time in the high bits, random low bits.
	c.e2e.Store(uint32(time.Now().Unix())<<20 | rand.Uint32()&0xfffff)
	c.dprCause.Store(-1)
	c.lastRead.Store(time.Now().UnixNano())
	c.log = opt.Log
	return c
}

// Remote describes the peer.
func (c *Conn) Remote() Remote { return c.remote }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err tells why the connection ended (nil while it is open).
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// LocalAddr and RemoteAddr are the socket addresses.
func (c *Conn) LocalAddr() net.Addr  { return c.nc.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// readFrame reads one whole message, so that a message the dictionary cannot parse never
// leaves the stream out of step.
func readFrame(r io.Reader) ([]byte, error) {
	var hdr [diam.HeaderLength]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	if hdr[0] != 1 {
		return nil, fmt.Errorf("version %d: %w", hdr[0], ErrMalformed)
	}
	n := int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
	if n < diam.HeaderLength || n > MaxMessageLength || n%4 != 0 {
		return nil, fmt.Errorf("message length %d: %w", n, ErrMalformed)
	}
	b := make([]byte, n)
	copy(b, hdr[:])
	if _, err := io.ReadFull(r, b[diam.HeaderLength:]); err != nil {
		return nil, err
	}
	return b, nil
}

// decode decodes a whole message (framed by readFrame); see decode.
func (c *Conn) decode(b []byte) (*diam.Message, error) {
	m, rerr := decode(b, c.opt.Dict)
	if rerr != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, rerr)
	}
	return m, nil
}

// decodeRequest decodes a request, or returns the error answer it deserves: 3008 for an
// E bit in a request (RFC 6733 §3, §7.1.3), 5014 with the offending AVP's header in
// Failed-AVP for an AVP whose length overruns the message, is shorter than its header or
// does not fit its data type (§7.1.5), 5004 for any other undecodable AVP.
func (c *Conn) decodeRequest(b []byte) (*diam.Message, *ResultError) {
	if b[4]&diam.ErrorFlag != 0 {
		c.malformed("E bit set in a request", b)
		return nil, Result(dict.InvalidHdrBits, "E bit set in a request")
	}
	m, rerr := decode(b, c.opt.Dict)
	if rerr != nil {
		c.malformed(rerr.Error(), b)
		return nil, rerr
	}
	return m, nil
}

// malformed logs the first malformed message of a connection as a warning and the rest at
// debug level, so that a hostile peer cannot flood the log.
func (c *Conn) malformed(why string, b []byte) {
	lvl := slog.LevelDebug
	if !c.warned.Swap(true) {
		lvl = slog.LevelWarn
	}
	c.log.Log(context.Background(), lvl, "diameter: malformed message", "remote", c.nc.RemoteAddr().String(),
		"peer", c.remote.OriginHost, "code", uint32(b[5])<<16|uint32(b[6])<<8|uint32(b[7]), "why", why)
}

// decode decodes a whole message (framed by readFrame) without trusting the codec with the
// framing of its AVPs: every top-level AVP length must cover its header and stay within the
// message, and every AVP must decode on its own to a value of the length it has on the wire
// (go-diameter v4.1.0 panics on, or walks the rest of the message out of step after, an AVP
// whose payload does not fit its type). It returns the error answer for the first offending
// AVP: 5014 with the AVP's header in Failed-AVP for a length, 5004 otherwise (RFC 6733
// §7.1.5). Commands the dictionary does not know decode too (an answer to a 3001 probe):
// AVPs need only the application.
func decode(b []byte, d *gdict.Parser) (*diam.Message, *ResultError) {
	h, err := diam.DecodeHeader(b)
	if err != nil {
		return nil, Result(dict.InvalidAVPLength, err.Error())
	}
	m := diam.NewMessage(h.CommandCode, h.CommandFlags, h.ApplicationID, h.HopByHopID, h.EndToEndID, d)
	for body := b[diam.HeaderLength:]; len(body) > 0; {
		if len(body) < 8 {
			return nil, Result(dict.InvalidAVPLength, fmt.Sprintf("%d bytes left for an AVP header", len(body)))
		}
		code, flags := binary.BigEndian.Uint32(body[0:4]), body[4]
		l := int(body[5])<<16 | int(body[6])<<8 | int(body[7])
		hl, vendor := 8, uint32(0)
		if flags&vbit != 0 {
			hl = 12
			if len(body) >= 12 {
				vendor = binary.BigEndian.Uint32(body[8:12])
			} else {
				flags &^= vbit
			}
		}
		padded := (l + 3) &^ 3
		if l < hl || padded > len(body) {
			return nil, Result(dict.InvalidAVPLength, fmt.Sprintf("AVP %d: length %d", code, l),
				diam.NewAVP(code, flags&(vbit|mbit), vendor, datatype.OctetString("")))
		}
		a, size := decodeAVP(body[:padded], h.ApplicationID, d)
		if a == nil {
			failed := diam.NewAVP(code, flags&(vbit|mbit), vendor, datatype.OctetString(""))
			if size {
				return nil, Result(dict.InvalidAVPLength, fmt.Sprintf("AVP %d: length %d does not fit its type", code, l), failed)
			}
			return nil, Result(dict.InvalidAVPValue, fmt.Sprintf("AVP %d: undecodable", code), failed)
		}
		m.AddAVP(a)
		body = body[padded:]
	}
	return m, nil
}

// decodeAVP decodes one AVP (b holds it with its padding), or returns nil; size tells
// whether the failure is a payload the AVP's type decodes to another length.
func decodeAVP(b []byte, app uint32, d *gdict.Parser) (a *diam.AVP, size bool) {
	defer func() {
		if r := recover(); r != nil { // a hostile AVP must not take the process down
			a, size = nil, false
		}
	}()
	a, _ = diam.DecodeAVP(b, app, d)
	if a.Data == nil {
		return nil, false
	}
	// A Grouped AVP with an undecodable member decodes partly, as it always has; its length
	// must still add up.
	if a.Len() != len(b) {
		return nil, true
	}
	return a, false
}

func (c *Conn) write(m *diam.Message) error {
	b, err := m.Serialize()
	if err != nil {
		return err
	}
	return c.writeRaw(b)
}

func (c *Conn) writeRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.opt.Tap != nil {
		c.opt.Tap(true, c.nc.LocalAddr(), c.nc.RemoteAddr(), b)
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write(b)
	if err != nil {
		c.shut(fmt.Errorf("write: %w", err))
	}
	return err
}

func (c *Conn) read() ([]byte, error) {
	b, err := readFrame(c.nc)
	if err != nil {
		return nil, err
	}
	c.lastRead.Store(time.Now().UnixNano())
	if c.opt.Tap != nil {
		c.opt.Tap(false, c.nc.LocalAddr(), c.nc.RemoteAddr(), b)
	}
	return b, nil
}

// shut ends the connection: the socket closes and every waiting request fails.
func (c *Conn) shut(why error) {
	c.doneOnce.Do(func() {
		c.mu.Lock()
		if why == nil {
			why = ErrClosed
		}
		c.err = why
		c.mu.Unlock()
		c.nc.Close()
		close(c.done)
	})
}

// Request sends a request and waits for its answer, correlated by hop-by-hop id, until ctx ends.
// It sets the hop-by-hop and end-to-end ids. The answer may carry an error result: see ResultOf.
func (c *Conn) Request(ctx context.Context, m *diam.Message) (*diam.Message, error) {
	if c.closing.Load() {
		return nil, fmt.Errorf("disconnecting: %w", ErrClosed)
	}
	return c.request(ctx, m)
}

func (c *Conn) request(ctx context.Context, m *diam.Message) (*diam.Message, error) {
	m.Header.CommandFlags |= diam.RequestFlag
	m.Header.HopByHopID = c.hbh.Add(1)
	if m.Header.EndToEndID == 0 || m.Header.CommandFlags&diam.RetransmittedFlag == 0 {
		m.Header.EndToEndID = c.e2e.Add(1)
	}
	ch := make(chan *diam.Message, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %w", ErrClosed, err)
	}
	c.pending[m.Header.HopByHopID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, m.Header.HopByHopID)
		c.mu.Unlock()
	}()
	if err := c.write(m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrClosed, err)
	}
	select {
	case a := <-ch:
		if a == nil {
			return nil, fmt.Errorf("answer to %d: %w", m.Header.CommandCode, ErrMalformed)
		}
		return a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, fmt.Errorf("%w: %w", ErrClosed, c.Err())
	}
}

// serve runs the read loop and the watchdog until the connection ends.
func (c *Conn) serve(ctx context.Context) {
	go c.watchdog()
	go func() {
		select {
		case <-ctx.Done():
			c.Close(context.Background())
		case <-c.done:
		}
	}()
	for {
		b, err := c.read()
		if err != nil {
			if c.closing.Load() {
				err = nil
			}
			c.shut(err)
			return
		}
		c.dispatch(ctx, b)
	}
}

func (c *Conn) dispatch(ctx context.Context, b []byte) {
	flags := b[4]
	code := uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
	app := binary.BigEndian.Uint32(b[8:12])
	hbh := binary.BigEndian.Uint32(b[12:16])
	if flags&diam.RequestFlag == 0 {
		c.mu.Lock()
		ch := c.pending[hbh]
		delete(c.pending, hbh)
		c.mu.Unlock()
		if ch == nil {
			c.malformed(fmt.Sprintf("answer matches no request (hop-by-hop %d)", hbh), b)
			return
		}
		m, rerr := decode(b, c.opt.Dict)
		if rerr != nil {
			c.malformed(rerr.Error(), b)
		}
		ch <- m
		return
	}
	select {
	case c.sem <- struct{}{}:
	default:
		// Answered from the read loop, so that a peer which floods requests and reads no
		// answers stalls its own stream instead of piling up goroutines.
		c.answerRaw(b, Result(dict.TooBusy, "too many requests in flight"))
		return
	}
	go func() {
		defer func() { <-c.sem }()
		defer func() {
			if r := recover(); r != nil { // one request's handler must not take the process down
				c.log.Error("diameter: handler panic", "code", code, "panic", r, "stack", string(debug.Stack()))
				c.answerRaw(b, Result(dict.UnableToComply, "internal error"))
			}
		}()
		c.serveRequest(ctx, b, app, code)
	}()
}

func (c *Conn) handlerContext(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, remoteKey, c.remote)
	return context.WithValue(ctx, localKey, c.opt.Local)
}

func (c *Conn) serveRequest(ctx context.Context, b []byte, app, code uint32) {
	ctx = c.handlerContext(ctx)
	if app == 0 {
		switch code {
		case dict.DeviceWatchdog:
			c.answerBase(ctx, b, nil)
			return
		case dict.DisconnectPeer:
			m, rerr := c.decodeRequest(b)
			cause := int32(dict.Rebooting)
			if rerr == nil {
				if v, ok := Uint32(Find(m.AVP, dict.AVPDisconnectCause, 0)); ok {
					cause = int32(v)
				}
			}
			c.dprCause.Store(cause)
			c.closing.Store(true)
			c.answerBase(ctx, b, nil)
			c.log.Info("diameter: peer disconnects", "peer", c.remote.OriginHost, "cause", cause)
			c.shut(ErrClosed)
			return
		case dict.CapabilitiesExchange:
			// A second CER on an open connection: RFC 6733 §5.3 allows none.
			c.answerRaw(b, Result(dict.UnableToComply, "capabilities already exchanged"))
			return
		}
	}
	if app != 0 && !c.serves(app) {
		c.answerRaw(b, Result(dict.ApplicationUnsupported, ""))
		return
	}
	h := c.opt.Mux.lookup(app, code)
	if h == nil {
		c.answerRaw(b, Result(dict.CommandUnsupported, ""))
		return
	}
	req, rerr := c.decodeRequest(b)
	if rerr != nil {
		c.answerRaw(b, rerr)
		return
	}
	ans, err := h.ServeDiameter(ctx, req)
	if err != nil {
		var rerr *ResultError
		if !errors.As(err, &rerr) {
			c.log.Error("diameter: handler failed", "code", code, "session_id", SessionID(req), "err", err)
		}
		ans = ErrorAnswer(ctx, req, err)
	}
	if ans == nil {
		ans = ErrorAnswer(ctx, req, errors.New("handler returned no answer"))
	}
	if err := c.write(ans); err != nil {
		c.log.Warn("diameter: answer not sent", "code", code, "err", err)
	}
}

func (c *Conn) serves(app uint32) bool {
	for _, a := range c.remote.Apps {
		if uint32(a) == app {
			return true
		}
	}
	return false
}

// answerBase answers DWR and DPR with 2001 (RFC 6733 §5.4, §5.5).
func (c *Conn) answerBase(ctx context.Context, b []byte, rerr *ResultError) {
	m, derr := c.decodeRequest(b)
	if derr != nil {
		c.answerRaw(b, derr)
		return
	}
	a := answer(ctx, m, rerr)
	if m.Header.CommandCode == dict.DeviceWatchdog {
		a.AddAVP(Base(dict.AVPOriginStateID, datatype.Unsigned32(c.opt.Local.OriginStateID)))
	}
	_ = c.write(a)
}

// answerRaw answers a request from its raw bytes, for messages the dictionary may not parse:
// only Session-Id is copied over.
func (c *Conn) answerRaw(b []byte, rerr *ResultError) {
	h, err := diam.DecodeHeader(b)
	if err != nil {
		return
	}
	req := diam.NewMessage(h.CommandCode, h.CommandFlags, h.ApplicationID, h.HopByHopID, h.EndToEndID, c.opt.Dict)
	if sid, ok := rawSessionID(b[diam.HeaderLength:]); ok {
		req.AddAVP(Base(dict.AVPSessionID, datatype.UTF8String(sid)))
	}
	_ = c.write(answer(c.handlerContext(context.Background()), req, rerr))
}

// rawSessionID finds a top-level Session-Id (263) without the dictionary.
func rawSessionID(b []byte) (string, bool) {
	for len(b) >= 8 {
		code := binary.BigEndian.Uint32(b[0:4])
		flags := b[4]
		l := int(b[5])<<16 | int(b[6])<<8 | int(b[7])
		if l < 8 || l > len(b) {
			return "", false
		}
		hl := 8
		if flags&vbit != 0 {
			hl = 12
		}
		if code == dict.AVPSessionID && hl == 8 {
			return string(b[8:l]), true
		}
		l = (l + 3) &^ 3
		if l > len(b) {
			return "", false
		}
		b = b[l:]
	}
	return "", false
}

// watchdog sends DWR after Tw without traffic and ends the connection when no DWA comes
// within another Tw (RFC 3539 §3.4, RFC 6733 §5.5).
func (c *Conn) watchdog() {
	tw := c.opt.Watchdog
	t := time.NewTimer(tw)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		idle := time.Since(time.Unix(0, c.lastRead.Load()))
		if idle < tw {
			t.Reset(tw - idle)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), tw)
		a, err := c.request(ctx, c.baseRequest(dict.DeviceWatchdog))
		cancel()
		if err == nil {
			err = ResultOf(a)
		}
		if err != nil {
			c.log.Warn("diameter: watchdog failed, closing", "peer", c.remote.OriginHost, "err", err)
			c.shut(fmt.Errorf("watchdog: %w", err))
			return
		}
		t.Reset(tw)
	}
}

func (c *Conn) baseRequest(code uint32) *diam.Message {
	m := diam.NewRequest(code, 0, c.opt.Dict)
	m.AddAVP(Base(dict.AVPOriginHost, datatype.DiameterIdentity(c.opt.Local.OriginHost)))
	m.AddAVP(Base(dict.AVPOriginRealm, datatype.DiameterIdentity(c.opt.Local.OriginRealm)))
	return m
}

// Close disconnects gracefully: DPR (Disconnect-Cause REBOOTING), wait for the DPA until ctx
// ends or 2 s pass, then close the socket (RFC 6733 §5.4). It is idempotent.
func (c *Conn) Close(ctx context.Context) error {
	return c.disconnect(ctx, dict.Rebooting)
}

func (c *Conn) disconnect(ctx context.Context, cause int32) error {
	if c.closing.Swap(true) {
		select {
		case <-c.done:
		case <-ctx.Done():
			c.shut(ErrClosed)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	m := c.baseRequest(dict.DisconnectPeer)
	m.AddAVP(Base(dict.AVPDisconnectCause, datatype.Enumerated(cause)))
	_, err := c.request(ctx, m)
	c.shut(ErrClosed)
	if err != nil && !errors.Is(err, ErrClosed) {
		return fmt.Errorf("DPR to %s: %w", c.remote.OriginHost, err)
	}
	return nil
}
