package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imsps/imsps/diameter/dict"
)

// PeerConfig names one peer a Client connects to.
type PeerConfig struct {
	Addr string `yaml:"addr"` // host:port
	// Host is the peer's expected Origin-Host; empty accepts any. A request whose
	// Destination-Host names it goes to this peer first.
	Host string `yaml:"host"`
	// Realm is the realm the peer serves; requests go to the peers whose realm equals their
	// Destination-Realm, then to peers with an empty realm (a DRA or default route).
	Realm string `yaml:"realm"`
}

// ClientOptions configure a Client.
type ClientOptions struct {
	Options
	Peers []PeerConfig
	// RequestTimeout bounds one attempt on one peer (Tx of RFC 6733); 0 means 5 s.
	RequestTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the exponential backoff between connection
	// attempts (Tc of RFC 6733 §2.1); 0 means 100 ms and 30 s.
	ReconnectMin, ReconnectMax time.Duration
	Dialer                     *net.Dialer
}

// Client keeps connections to several peers, reconnecting with backoff, and sends each
// request to the first suitable connected peer, failing over to the next one when a
// connection breaks or an attempt times out (RFC 6733 §5.5.4).
type Client struct {
	opt   ClientOptions
	peers []*clientPeer

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever a connection comes or goes

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

type clientPeer struct {
	cfg  PeerConfig
	conn *Conn // guarded by Client.mu
}

// NewClient returns a Client; Run starts it.
func NewClient(opt ClientOptions) (*Client, error) {
	if opt.Dict == nil {
		return nil, errors.New("diameter client: no dictionary")
	}
	if err := opt.Local.Validate("diameter"); err != nil {
		return nil, err
	}
	if len(opt.Peers) == 0 {
		return nil, errors.New("diameter client: no peers")
	}
	opt.Options = opt.Options.withDefaults()
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = 5 * time.Second
	}
	if opt.ReconnectMin <= 0 {
		opt.ReconnectMin = 100 * time.Millisecond
	}
	if opt.ReconnectMax <= 0 {
		opt.ReconnectMax = 30 * time.Second
	}
	if opt.Dialer == nil {
		opt.Dialer = &net.Dialer{Timeout: 5 * time.Second}
	}
	c := &Client{opt: opt, changed: make(chan struct{})}
	for _, p := range opt.Peers {
		c.peers = append(c.peers, &clientPeer{cfg: p})
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// Identity is the local identity the client presents.
func (c *Client) Identity() Identity { return c.opt.Local }

// Run connects to every peer and keeps the connections up until ctx ends or Close is
// called; then it disconnects each peer with DPR and returns nil.
func (c *Client) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, c.cancel)
	defer stop()
	for _, p := range c.peers {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.keep(p)
		}()
	}
	<-c.ctx.Done()
	c.wg.Wait()
	return nil
}

// Close disconnects every peer (DPR/DPA) and stops reconnecting. It is idempotent.
func (c *Client) Close() error {
	c.cancel()
	c.wg.Wait()
	return nil
}

func (c *Client) keep(p *clientPeer) {
	backoff := c.opt.ReconnectMin
	log := c.opt.Log.With("peer_addr", p.cfg.Addr)
	for c.ctx.Err() == nil {
		conn, err := c.dial(p)
		if err != nil {
			log.Warn("diameter: connect failed", "err", err, "retry_in", backoff)
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, c.opt.ReconnectMax)
			continue
		}
		backoff = c.opt.ReconnectMin
		log.Info("diameter: connected", "peer", conn.remote.OriginHost)
		c.setConn(p, conn)
		go conn.serve(context.Background())
		select {
		case <-conn.Done():
			log.Warn("diameter: connection lost", "peer", conn.remote.OriginHost, "err", conn.Err())
		case <-c.ctx.Done():
			conn.Close(context.Background())
		}
		c.setConn(p, nil)
		if cause := conn.dprCause.Load(); cause == int32(dict.DoNotWantToTalkToYou) || cause == int32(dict.Busy) {
			backoff = c.opt.ReconnectMax / 2
		}
		if c.ctx.Err() == nil {
			select {
			case <-c.ctx.Done():
			case <-time.After(backoff):
			}
		}
	}
}

func (c *Client) dial(p *clientPeer) (*Conn, error) {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	nc, err := c.opt.Dialer.DialContext(ctx, "tcp", p.cfg.Addr)
	if err != nil {
		return nil, err
	}
	conn := newConn(nc, c.opt.Options)
	if err := conn.handshakeClient(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	if p.cfg.Host != "" && conn.remote.OriginHost != p.cfg.Host {
		conn.Close(context.Background())
		return nil, fmt.Errorf("%w: peer at %s is %q, want %q", ErrHandshake, p.cfg.Addr, conn.remote.OriginHost, p.cfg.Host)
	}
	return conn, nil
}

func (c *Client) setConn(p *clientPeer, conn *Conn) {
	c.mu.Lock()
	p.conn = conn
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// Connected lists the Origin-Host of every connected peer.
func (c *Client) Connected() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, p := range c.peers {
		if p.conn != nil {
			out = append(out, p.conn.remote.OriginHost)
		}
	}
	return out
}

// candidates orders the connected peers for a request: Destination-Host match, then
// realm match, then default-route peers (empty realm); config order within each group.
func (c *Client) candidates(app uint32, destHost, destRealm string) (conns []*Conn, wait <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var host, realm, dflt []*Conn
	for _, p := range c.peers {
		conn := p.conn
		if conn == nil || conn.closing.Load() || !conn.serves(app) {
			continue
		}
		switch {
		case destHost != "" && conn.remote.OriginHost == destHost:
			host = append(host, conn)
		case p.cfg.Realm == "" || destRealm == "":
			dflt = append(dflt, conn)
		case p.cfg.Realm == destRealm:
			realm = append(realm, conn)
		}
	}
	return append(append(host, realm...), dflt...), c.changed
}

// Request sends m to a peer and returns its answer. It tries the connected candidate peers
// in turn, each for RequestTimeout, resending with the T flag after a broken connection or a
// timeout; when no candidate is connected it waits for one until ctx ends.
// Answers with error results are returned as they are: see ResultOf.
func (c *Client) Request(ctx context.Context, m *diam.Message) (*diam.Message, error) {
	destHost, _ := String(Find(m.AVP, dict.AVPDestinationHost, 0))
	destRealm, _ := String(Find(m.AVP, dict.AVPDestinationRealm, 0))
	app := m.Header.ApplicationID
	if !c.routable(destHost, destRealm) {
		return nil, fmt.Errorf("Destination-Realm %q: %w", destRealm, ErrNoRoute)
	}
	tried := map[*Conn]bool{}
	var last error
	for {
		conns, changed := c.candidates(app, destHost, destRealm)
		var conn *Conn
		for _, cc := range conns {
			if !tried[cc] {
				conn = cc
				break
			}
		}
		if conn == nil {
			if last != nil {
				return nil, last // every connected candidate failed: do not wait for a new one
			}
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				if last == nil {
					last = ErrNoPeer
				}
				return nil, fmt.Errorf("%w (%w)", ctx.Err(), last)
			case <-c.ctx.Done():
				return nil, ErrClosed
			}
		}
		tried[conn] = true
		actx, cancel := context.WithTimeout(ctx, c.opt.RequestTimeout)
		a, err := conn.Request(actx, m)
		cancel()
		if err == nil {
			return a, nil
		}
		last = err
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%w)", ctx.Err(), last)
		}
		c.opt.Log.Warn("diameter: request failed, trying another peer", "peer", conn.remote.OriginHost, "code", m.Header.CommandCode, "err", err)
		m.Header.CommandFlags |= diam.RetransmittedFlag
	}
}

// ErrNoRoute is returned for a request no configured peer may carry (DIAMETER_UNABLE_TO_DELIVER).
var ErrNoRoute = errors.New("diameter: no route to the destination")

func (c *Client) routable(destHost, destRealm string) bool {
	for _, p := range c.peers {
		if p.cfg.Realm == "" || destRealm == "" || p.cfg.Realm == destRealm || (destHost != "" && p.cfg.Host == destHost) {
			return true
		}
	}
	return false
}

// WaitConnected waits until at least n peers are connected, or ctx ends.
func (c *Client) WaitConnected(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		up := 0
		for _, p := range c.peers {
			if p.conn != nil {
				up++
			}
		}
		changed := c.changed
		c.mu.Unlock()
		if up >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%d of %d peers connected: %w", up, n, ctx.Err())
		}
	}
}
