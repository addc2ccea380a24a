package sh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	gdict "github.com/fiorix/go-diameter/v4/diam/dict"
	"golang.org/x/sync/singleflight"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
	"github.com/imsps/imsps/diameter/shdata"
)

var _ as.Directory = (*Client)(nil)

// Client is the AS side of Sh (TS 29.328/29.329): it reads subscriber data with UDR, writes
// repository data with PUR, subscribes with SNR and serves the HSS's PNR. As an as.Directory
// it answers lookups from a bounded TTL cache, one UDR per user at a time.
type Client struct {
	cfg   Config
	log   *slog.Logger
	dict  *gdict.Parser
	peers *peer.Client
	ids   *peer.SessionIDs
	cache *cache
	group singleflight.Group

	mu       sync.Mutex
	listener as.UserStateListener
	subs     map[as.AOR]*subscription // by every identity of a subscribed user
	wake     chan struct{}

	ctx    context.Context
	cancel context.CancelFunc

	beforePUR func() // test hook: runs between the read and the write of UpdateRepository
}

// subscription is one user's SNR state: IMSUserState, and the repository data when stored.
type subscription struct {
	impu    as.AOR
	expires time.Time
	granted time.Duration
	repo    bool
	ready   chan struct{} // closed once the first SNR round is done
	once    sync.Once
}

// New builds a Client; Run connects it. opts may set a Tap for wire captures.
func New(cfg Config, log *slog.Logger, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "sh")
	d, err := dict.New(dict.Sh)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:   cfg,
		log:   log,
		dict:  d,
		ids:   peer.NewSessionIDs(cfg.OriginHost),
		cache: newCache(cfg.CacheSize, cfg.CacheTTL, time.Now),
		subs:  map[as.AOR]*subscription{},
		wake:  make(chan struct{}, 1),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	var o options
	for _, f := range opts {
		f(&o)
	}
	mux := peer.NewMux()
	mux.HandleFunc(dict.Sh, dict.PushNotification, c.servePNR)
	c.peers, err = peer.NewClient(peer.ClientOptions{
		Options: peer.Options{
			Local:    cfg.identity(),
			Dict:     d,
			Mux:      mux,
			Watchdog: cfg.Watchdog,
			Tap:      o.tap,
			Log:      log,
		},
		Peers:          cfg.Peers,
		RequestTimeout: cfg.RequestTimeout,
	})
	if err != nil {
		return nil, err
	}
	c.cache.onEvict = c.forget
	return c, nil
}

// Option tunes a Client beyond its Config.
type Option func(*options)

type options struct{ tap peer.Tap }

// WithTap hands every Diameter message sent or received to tap (wire captures).
func WithTap(tap peer.Tap) Option { return func(o *options) { o.tap = tap } }

// SetUserStateListener names who is told when a user's IMS state changes (the presence core).
func (c *Client) SetUserStateListener(l as.UserStateListener) {
	c.mu.Lock()
	c.listener = l
	c.mu.Unlock()
}

// Run connects to the HSS peers and renews subscriptions until ctx ends or Close is called;
// it then disconnects (DPR) and returns.
func (c *Client) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, c.cancel)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.renewLoop()
	}()
	err := c.peers.Run(c.ctx)
	<-done
	return err
}

// Close stops the client; idempotent.
func (c *Client) Close() error {
	c.cancel()
	return c.peers.Close()
}

// Peers is the underlying Diameter client (for status and tests).
func (c *Client) Peers() *peer.Client { return c.peers }

// newRequest starts an Sh request (TS 29.329 §6.1): Session-Id, Vendor-Specific-Application-Id,
// Auth-Session-State NO_STATE_MAINTAINED, Origin-*, Destination-*, User-Identity.
func (c *Client) newRequest(code uint32, impu as.AOR) *diam.Message {
	m := diam.NewRequest(code, uint32(dict.Sh), c.dict)
	m.Header.CommandFlags |= diam.ProxiableFlag
	m.AddAVP(peer.Base(dict.AVPSessionID, datatype.UTF8String(c.ids.Next())))
	m.AddAVP(peer.VSAI(dict.Sh))
	m.AddAVP(peer.Base(dict.AVPAuthSessionState, datatype.Enumerated(dict.NoStateMaintained)))
	m.AddAVP(peer.Base(dict.AVPOriginHost, datatype.DiameterIdentity(c.cfg.OriginHost)))
	m.AddAVP(peer.Base(dict.AVPOriginRealm, datatype.DiameterIdentity(c.cfg.OriginRealm)))
	if c.cfg.DestinationHost != "" {
		m.AddAVP(peer.Base(dict.AVPDestinationHost, datatype.DiameterIdentity(c.cfg.DestinationHost)))
	}
	m.AddAVP(peer.Base(dict.AVPDestinationRealm, datatype.DiameterIdentity(c.cfg.DestinationRealm)))
	m.AddAVP(userIdentity(impu))
	return m
}

func userIdentity(impu as.AOR) *diam.AVP {
	return peer.Vendor3GPP(dict.AVPUserIdentity, true, &diam.GroupedAVP{AVP: []*diam.AVP{
		peer.Vendor3GPP(dict.AVPPublicIdentity, true, datatype.UTF8String(impu)),
	}})
}

func dataRef(r dict.DataReference) *diam.AVP {
	return peer.Vendor3GPP(dict.AVPDataReference, true, datatype.Enumerated(r))
}

func (c *Client) do(ctx context.Context, m *diam.Message) (*diam.Message, error) {
	a, err := c.peers.Request(ctx, m)
	if err != nil {
		return nil, err
	}
	if err := peer.ResultOf(a); err != nil {
		return a, classify(err)
	}
	return a, nil
}

// UserData reads data of a user with UDR (TS 29.328 §6.1.1). With IMSPublicIdentity it asks
// for the implicit set and the aliases (Identity-Set); with RepositoryData it names the
// configured Service-Indication.
func (c *Client) UserData(ctx context.Context, impu as.AOR, refs ...dict.DataReference) (*Data, error) {
	m := c.newRequest(dict.UserData, impu)
	if c.cfg.ServerName != "" {
		m.AddAVP(peer.Vendor3GPP(dict.AVPServerName, true, datatype.UTF8String(c.cfg.ServerName)))
	}
	for _, r := range refs {
		if r == dict.RepositoryData {
			m.AddAVP(peer.Vendor3GPP(dict.AVPServiceIndication, true, datatype.OctetString(c.cfg.ServiceIndication)))
			break
		}
	}
	for _, r := range refs {
		m.AddAVP(dataRef(r))
	}
	for _, r := range refs {
		if r == dict.IMSPublicIdentity {
			m.AddAVP(peer.Vendor3GPP(dict.AVPIdentitySet, false, datatype.Enumerated(dict.ImplicitIdentities)))
			m.AddAVP(peer.Vendor3GPP(dict.AVPIdentitySet, false, datatype.Enumerated(dict.AliasIdentities)))
			break
		}
	}
	a, err := c.do(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("UDR %s: %w", impu, err)
	}
	b, ok := peer.Bytes(peer.Find(a.AVP, dict.AVPUserData, dict.Vendor3GPP))
	if !ok {
		return &Data{}, nil
	}
	d, err := ParseData(b)
	if err != nil {
		return nil, fmt.Errorf("UDR %s: %w", impu, err)
	}
	return d, nil
}

// Repository reads the user's repository data for the configured Service-Indication;
// ok is false when none is stored.
func (c *Client) Repository(ctx context.Context, impu as.AOR) (r RepositoryData, ok bool, err error) {
	d, err := c.UserData(ctx, impu, dict.RepositoryData)
	if err != nil {
		return RepositoryData{}, false, err
	}
	r, ok = d.Repository(c.cfg.ServiceIndication)
	return r, ok, nil
}

// The Sh-Data types, from diameter/shdata.
type (
	Data           = shdata.Data
	RepositoryData = shdata.RepositoryData
	IMSData        = shdata.IMSData
)

// ParseData parses an Sh-Data document (see shdata.ParseData).
func ParseData(b []byte) (*Data, error) { return shdata.ParseData(b) }

// NextSequence is the SequenceNumber after n (see shdata.NextSequence).
func NextSequence(n uint32) uint32 { return shdata.NextSequence(n) }

// UpdateRepository writes the user's repository data with PUR (TS 29.328 §6.1.2): it reads the
// current SequenceNumber, sends 0 to create or the next number to update, and on
// DIAMETER_ERROR_TRANSPARENT_DATA_OUT_OF_SYNC re-reads and retries once. serviceData nil
// deletes the data. It returns the SequenceNumber stored.
func (c *Client) UpdateRepository(ctx context.Context, impu as.AOR, serviceData []byte) (uint32, error) {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var cur RepositoryData
		var exists bool
		cur, exists, err = c.Repository(ctx, impu)
		if err != nil {
			return 0, err
		}
		if !exists && serviceData == nil {
			return 0, nil // nothing to delete
		}
		if c.beforePUR != nil {
			c.beforePUR()
		}
		seq := uint32(0)
		if exists {
			seq = NextSequence(cur.SequenceNumber)
		}
		err = c.profileUpdate(ctx, impu, RepositoryData{ServiceIndication: c.cfg.ServiceIndication, SequenceNumber: seq, ServiceData: serviceData})
		if err == nil {
			return seq, nil
		}
		if !errors.Is(err, ErrOutOfSync) {
			return 0, err
		}
		c.log.Info("sh: repository data out of sync, re-reading", "impu", impu)
	}
	return 0, err
}

func (c *Client) profileUpdate(ctx context.Context, impu as.AOR, r RepositoryData) error {
	m := c.newRequest(dict.ProfileUpdate, impu)
	m.AddAVP(dataRef(dict.RepositoryData))
	doc := &Data{RepositoryData: []RepositoryData{r}}
	m.AddAVP(peer.Vendor3GPP(dict.AVPUserData, true, datatype.OctetString(doc.Marshal())))
	if _, err := c.do(ctx, m); err != nil {
		return fmt.Errorf("PUR %s seq %d: %w", impu, r.SequenceNumber, err)
	}
	return nil
}

// Subscribe sends SNR (TS 29.328 §6.1.3) for the user's refs with the configured
// Expiry-Time; it returns the expiry the HSS granted (zero when it sent none).
func (c *Client) Subscribe(ctx context.Context, impu as.AOR, refs ...dict.DataReference) (time.Time, error) {
	return c.snr(ctx, impu, dict.Subscribe, refs...)
}

// Unsubscribe ends the subscription to refs.
func (c *Client) Unsubscribe(ctx context.Context, impu as.AOR, refs ...dict.DataReference) error {
	_, err := c.snr(ctx, impu, dict.Unsubscribe, refs...)
	return err
}

func (c *Client) snr(ctx context.Context, impu as.AOR, kind int32, refs ...dict.DataReference) (time.Time, error) {
	m := c.newRequest(dict.SubscribeNotifications, impu)
	for _, r := range refs {
		if r == dict.RepositoryData {
			m.AddAVP(peer.Vendor3GPP(dict.AVPServiceIndication, true, datatype.OctetString(c.cfg.ServiceIndication)))
			break
		}
	}
	if c.cfg.ServerName != "" {
		m.AddAVP(peer.Vendor3GPP(dict.AVPServerName, true, datatype.UTF8String(c.cfg.ServerName)))
	}
	m.AddAVP(peer.Vendor3GPP(dict.AVPSubsReqType, true, datatype.Enumerated(kind)))
	for _, r := range refs {
		m.AddAVP(dataRef(r))
	}
	if kind == dict.Subscribe {
		m.AddAVP(peer.Vendor3GPP(dict.AVPExpiryTime, false, datatype.Time(time.Now().Add(c.cfg.SubscriptionExpiry))))
	}
	a, err := c.do(ctx, m)
	if err != nil {
		return time.Time{}, fmt.Errorf("SNR %s: %w", impu, err)
	}
	if e := peer.Find(a.AVP, dict.AVPExpiryTime, dict.Vendor3GPP); e != nil {
		if t, ok := e.Data.(datatype.Time); ok {
			return time.Time(t), nil
		}
	}
	return time.Time{}, nil
}

// subscribe subscribes a freshly looked-up user to IMSUserState and, when stored, to the
// repository data; failures are logged and retried by the renewal loop. Callers for a user
// already being subscribed wait for that first round.
func (c *Client) subscribe(sub as.Subscriber) {
	c.mu.Lock()
	if s, ok := c.subs[sub.Presentity]; ok { // subscribed or subscribing; the renewal loop keeps it
		c.mu.Unlock()
		select {
		case <-s.ready:
		case <-c.ctx.Done():
		}
		return
	}
	s := &subscription{impu: sub.Presentity, ready: make(chan struct{})}
	for _, id := range sub.Identities {
		c.subs[id] = s
	}
	c.subs[sub.Presentity] = s
	c.mu.Unlock()
	c.renew(s)
}

func (c *Client) renew(s *subscription) {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.LookupDeadline)
	defer cancel()
	now := time.Now()
	exp, err := c.Subscribe(ctx, s.impu, dict.IMSUserState)
	if err != nil {
		c.log.Warn("sh: subscription failed", "impu", s.impu, "err", err)
		exp = now.Add(c.cfg.RetryAfter) // try again soon
	}
	if exp.IsZero() {
		exp = now.Add(c.cfg.SubscriptionExpiry)
	}
	if exp.Sub(now) < time.Second { // Time AVPs have whole seconds: never renew in a tight loop
		exp = now.Add(time.Second)
	}
	repo := false
	if err == nil && c.cfg.ServiceIndication != "" {
		rexp, rerr := c.Subscribe(ctx, s.impu, dict.RepositoryData)
		switch {
		case rerr == nil:
			repo = true
			if !rexp.IsZero() && rexp.Before(exp) {
				exp = rexp
			}
		case errors.Is(rerr, ErrNoData): // nothing stored yet: TS 29.328 allows no subscription
		default:
			c.log.Warn("sh: repository subscription failed", "impu", s.impu, "err", rerr)
		}
	}
	c.mu.Lock()
	s.expires, s.granted, s.repo = exp, exp.Sub(now), repo
	c.mu.Unlock()
	s.once.Do(func() { close(s.ready) })
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// renewLoop renews every subscription when a third of its granted lifetime is left.
func (c *Client) renewLoop() {
	if !c.cfg.Subscribe {
		return
	}
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		var due []*subscription
		next := time.Minute
		now := time.Now()
		c.mu.Lock()
		seen := map[*subscription]bool{}
		for _, s := range c.subs {
			if seen[s] || s.expires.IsZero() {
				continue
			}
			seen[s] = true
			at := s.expires.Add(-s.granted / 3)
			if !at.After(now) {
				due = append(due, s)
				s.expires = time.Time{} // in progress
				continue
			}
			next = min(next, at.Sub(now))
		}
		c.mu.Unlock()
		for _, s := range due {
			go c.renew(s)
		}
		t.Reset(max(next, 10*time.Millisecond))
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		case <-c.wake:
		}
	}
}

// forget drops the subscription bookkeeping of a user the cache evicted; the HSS lets the
// subscription expire.
func (c *Client) forget(sub as.Subscriber) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range append(sub.Identities, sub.Presentity) {
		delete(c.subs, id)
	}
}

func (c *Client) subscribed(impu as.AOR) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.subs[impu]
	return ok
}

func firstSIP(ids []as.AOR) (as.AOR, bool) {
	for _, id := range ids {
		if strings.HasPrefix(string(id), "sip:") || strings.HasPrefix(string(id), "sips:") {
			return id, true
		}
	}
	return "", false
}
