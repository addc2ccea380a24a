package as

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imsps/imsps/as/presence"
)

const (
	numShards     = 256
	cseqBlock     = 128 // CSeq numbers reserved in the store at a time
	expiryWorkers = 32
	retryDelay    = 5 * time.Second // store failure during expiry, full NOTIFY queue
)

// Agent is the presence agent and event state compositor (RFC 3903, RFC 6665, RFC 3856):
// it keeps publications and subscriptions, composes state, and drives NOTIFYs through the
// Notifier. Requests for one presentity are serialized in arrival order (a FIFO lock per
// presentity, found through sharded maps); different presentities proceed in parallel.
type Agent struct {
	cfg       Config
	st        Store
	dir       Directory
	notifier  Notifier
	log       *slog.Logger
	clock     Clock
	packages  map[string]EventPackage
	names     []string
	domains   map[string]bool
	publishAs map[AOR]map[AOR]bool

	seed     maphash.Seed
	shards   [numShards]shard
	dialogs  [numShards]dialogShard
	timers   *timers
	notifyQ  chan *subscription
	expireQ  chan *timerSlot
	running  atomic.Bool
	restored restoreStats
	stats    counters
}

type restoreStats struct{ publications, subscriptions, expired int }

type shard struct {
	mu sync.Mutex
	m  map[AOR]*presentity
}

type dialogShard struct {
	mu sync.Mutex
	m  map[string]*subscription // by LocalTag
}

// presentity holds one resource's state. The FIFO lock fields are guarded by the shard's
// mutex; mu guards the state for readers (NOTIFY workers) that do not take the FIFO lock.
// State changes happen only while holding the FIFO lock and, for the instant of the change, mu.
type presentity struct {
	aor AOR

	refs    int32 // holders and waiters of the FIFO lock
	held    bool
	waiters []chan struct{}

	mu        sync.Mutex
	pubs      []*publication
	hard      any // decoded hard state (presence package), nil when none
	watchers  []*subscription
	body      []byte // composed NOTIFY body cache
	bodyEvent string
	bodyOK    bool
}

func (p *presentity) empty() bool {
	return len(p.pubs) == 0 && len(p.watchers) == 0 && p.hard == nil
}

// publication is one live RFC 3903 publication.
type publication struct {
	p         *presentity
	id        string // first SIP-ETag; the store key and the composer's source id
	etag      string // current SIP-ETag
	event     string
	publisher AOR
	ctype     string
	expires   int64 // unix ns
	published int64 // unix ns of the last body
	body      []byte
	state     any
	timer     timerSlot
}

func (pb *publication) record() *pubRecord {
	return &pubRecord{AOR: pb.p.aor, ID: pb.id, ETag: pb.etag, Event: pb.event, Publisher: pb.publisher,
		ContentType: pb.ctype, Expires: pb.expires, Published: pb.published, Body: pb.body}
}

// subscription is one RFC 6665 subscription (or a fetch, which is never stored).
type subscription struct {
	p              *presentity
	d              Dialog
	event          string
	eventID        string
	watcher        AOR
	chargingVector string
	expires        int64 // unix ns
	lastSent       int64 // unix ns of the last NOTIFY
	cseq           uint32
	reserved       uint32
	final          *Notification // the terminating NOTIFY still to send
	// Notification state machine, guarded by p.mu.
	persistent bool // in the store (false for a fetch)
	activated  bool // the 200 is on the wire: NOTIFYs may go
	queued     bool // in the NOTIFY queue or armed on notifyAt
	inflight   bool // a worker is sending a NOTIFY
	pending    bool // the state changed since the last NOTIFY
	removed    bool
	expiry     timerSlot
	notifyAt   timerSlot
}

func (s *subscription) record() *subRecord {
	return &subRecord{Presentity: s.p.aor, Event: s.event, EventID: s.eventID, Watcher: s.watcher,
		ChargingVector: s.chargingVector, Expires: s.expires, CSeqReserved: s.reserved, Dialog: s.d}
}

// NewAgent checks its dependencies, loads every publication and subscription from st
// (dropping those that expired while the server was down) and arms their timers. Nothing
// is sent until Run: NOTIFYs owed after the restart are spread over cfg.RestartSpread
// from the moment of loading. opts may replace the event packages (default: presence) or the clock.
func NewAgent(cfg Config, st Store, dir Directory, n Notifier, log *slog.Logger, opts ...Option) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if st == nil || dir == nil || n == nil || log == nil {
		return nil, errors.New("as.NewAgent: store, directory, notifier and logger are required")
	}
	o := options{packages: []EventPackage{presence.New()}, clock: systemClock{}}
	for _, opt := range opts {
		opt(&o)
	}
	a := &Agent{
		cfg: cfg, st: st, dir: dir, notifier: n, log: log.With("component", "as"), clock: o.clock,
		packages:  make(map[string]EventPackage, len(o.packages)),
		domains:   make(map[string]bool, len(cfg.Domains)),
		publishAs: make(map[AOR]map[AOR]bool, len(cfg.PublishAs)),
		seed:      maphash.MakeSeed(),
		timers:    newTimers(),
		notifyQ:   make(chan *subscription, cfg.NotifyQueue),
		expireQ:   make(chan *timerSlot, 4096),
	}
	for _, pk := range o.packages {
		if pk == nil || pk.Event() == "" {
			return nil, errors.New("as.NewAgent: event package without an Event token")
		}
		if _, dup := a.packages[pk.Event()]; dup {
			return nil, fmt.Errorf("as.NewAgent: event package %q registered twice", pk.Event())
		}
		a.packages[pk.Event()] = pk
		a.names = append(a.names, pk.Event())
	}
	sort.Strings(a.names)
	for _, d := range cfg.Domains {
		a.domains[normalizeDomain(d)] = true
	}
	for id, list := range cfg.PublishAs {
		from, _ := ParseAOR(id) // Validate checked it
		m := a.publishAs[from]
		if m == nil {
			m = make(map[AOR]bool, len(list))
			a.publishAs[from] = m
		}
		for _, p := range list {
			to, _ := ParseAOR(p)
			m[to] = true
		}
	}
	for i := range a.shards {
		a.shards[i].m = make(map[AOR]*presentity)
		a.dialogs[i].m = make(map[string]*subscription)
	}
	if err := a.restore(context.Background()); err != nil {
		return nil, err
	}
	return a, nil
}

func normalizeDomain(d string) string {
	aor, err := ParseAOR("sip:x@" + d)
	if err != nil {
		return d
	}
	return aor.Domain()
}

// Packages lists the supported Event tokens, for Allow-Events.
func (a *Agent) Packages() []string { return slices.Clone(a.names) }

// Run runs the timers (expiry, rate-shaped and restart-spread NOTIFYs) and the NOTIFY
// workers until ctx ends. Publish and Subscribe work without Run, but nothing expires and no
// NOTIFY is sent until it runs. Run returns nil when ctx ends; calling it twice is an error.
func (a *Agent) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("as: Agent.Run called twice")
	}
	a.log.Info("presence agent running", "publications", a.restored.publications,
		"subscriptions", a.restored.subscriptions, "expired_while_down", a.restored.expired,
		"events", a.names)
	var wg sync.WaitGroup
	for range a.cfg.NotifyWorkers {
		wg.Go(func() { a.notifyLoop(ctx) })
	}
	for range expiryWorkers {
		wg.Go(func() { a.expiryLoop(ctx) })
	}
	a.schedule(ctx)
	wg.Wait()
	return nil
}

// schedule sleeps on the one timer until the earliest slot is due, then dispatches.
func (a *Agent) schedule(ctx context.Context) {
	t := a.clock.NewTimer(time.Hour)
	defer t.Stop()
	var due []*timerSlot
	for {
		now := a.nowNano()
		due = a.timers.popDue(now, due[:0], 1024)
		for _, s := range due {
			switch s.kind {
			case timerNotify:
				a.notifyTimerFired(s.sub)
			default:
				select {
				case a.expireQ <- s:
				case <-ctx.Done():
					return
				}
			}
		}
		if len(due) == 1024 {
			continue
		}
		if next, ok := a.timers.next(); ok {
			if next <= a.nowNano() {
				continue
			}
			t.Reset(time.Duration(next - a.nowNano()))
		} else {
			t.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-a.timers.wake:
		case <-t.C():
		}
	}
}

func (a *Agent) expiryLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-a.expireQ:
			switch s.kind {
			case timerPublicationExpiry:
				a.expirePublication(ctx, s.pub)
			case timerSubscriptionExpiry:
				a.expireSubscription(ctx, s.sub)
			}
		}
	}
}

func (a *Agent) now() time.Time { return a.clock.Now() }
func (a *Agent) nowNano() int64 { return a.clock.Now().UnixNano() }

// newToken returns 120 random bits, base64url: SIP-ETags and dialog tags (unguessable, unique).
func newToken() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go >= 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ---- per-presentity FIFO lock ----

func (a *Agent) shardOf(aor AOR) *shard {
	return &a.shards[maphash.String(a.seed, string(aor))&(numShards-1)]
}

func (a *Agent) dialogShardOf(tag string) *dialogShard {
	return &a.dialogs[maphash.String(a.seed, tag)&(numShards-1)]
}

// lock takes the presentity's FIFO lock, creating the in-memory presentity if needed.
// Requests are granted in arrival order. bounded requests fail with ErrOverloaded when
// more than cfg.MaxQueue wait already.
func (a *Agent) lock(ctx context.Context, aor AOR, bounded bool) (*presentity, error) {
	sh := a.shardOf(aor)
	sh.mu.Lock()
	p := sh.m[aor]
	if p == nil {
		p = &presentity{aor: aor}
		sh.m[aor] = p
	}
	if !p.held {
		p.held = true
		p.refs++
		sh.mu.Unlock()
		return p, nil
	}
	if bounded && len(p.waiters) >= a.cfg.MaxQueue {
		sh.mu.Unlock()
		return nil, fmt.Errorf("%s: %d requests queued (presence.max_queue): %w", aor, len(p.waiters), ErrOverloaded)
	}
	ch := make(chan struct{})
	p.waiters = append(p.waiters, ch)
	p.refs++
	sh.mu.Unlock()
	select {
	case <-ch:
		return p, nil
	case <-ctx.Done():
		sh.mu.Lock()
		if i := slices.Index(p.waiters, ch); i >= 0 {
			p.waiters = slices.Delete(p.waiters, i, i+1)
			p.refs--
			sh.mu.Unlock()
			return nil, ctx.Err()
		}
		sh.mu.Unlock()
		a.unlock(p) // the lock was handed to us meanwhile
		return nil, ctx.Err()
	}
}

// unlock passes the FIFO lock to the next waiter, or forgets an empty presentity.
func (a *Agent) unlock(p *presentity) {
	sh := a.shardOf(p.aor)
	sh.mu.Lock()
	p.refs--
	if len(p.waiters) > 0 {
		ch := p.waiters[0]
		p.waiters = p.waiters[1:]
		close(ch)
	} else {
		p.held = false
		if p.refs == 0 && p.empty() && sh.m[p.aor] == p {
			delete(sh.m, p.aor)
		}
	}
	sh.mu.Unlock()
}

// ---- shared request checks ----

// resolve canonicalizes uri, checks the domain and asks the directory which presentity
// holds the state (aliases share one).
func (a *Agent) resolve(ctx context.Context, uri string) (AOR, Subscriber, error) {
	aor, err := ParseAOR(uri)
	if err != nil {
		return "", Subscriber{}, &BadRequestError{Reason: err.Error()}
	}
	if !aor.IsTel() && !a.domains[aor.Domain()] {
		return "", Subscriber{}, fmt.Errorf("%s: %w", aor, ErrNotServed)
	}
	sub, err := a.dir.Lookup(ctx, aor)
	if err != nil {
		return "", Subscriber{}, fmt.Errorf("lookup %s: %w", aor, err)
	}
	if sub.Presentity == "" {
		sub.Presentity = aor
	}
	return sub.Presentity, sub, nil
}

// grant applies RFC 3903 §6 step 5 / RFC 6665 §4.2.1.1 to a requested Expires (-1 = absent).
func (a *Agent) grant(expires int) (time.Duration, error) {
	if expires < 0 {
		return a.cfg.DefaultExpires, nil
	}
	d := time.Duration(expires) * time.Second
	if expires > int(a.cfg.MaxExpires/time.Second) {
		return a.cfg.MaxExpires, nil
	}
	if d > 0 && d < a.cfg.MinExpires {
		return 0, &IntervalTooBriefError{Min: a.cfg.MinExpires}
	}
	return d, nil
}

// composeLocked returns the NOTIFY body of event for p; p.mu is held.
func (a *Agent) composeLocked(p *presentity, pk EventPackage) []byte {
	ev := pk.Event()
	if p.bodyOK && p.bodyEvent == ev {
		return p.body
	}
	var live []*publication
	for _, pb := range p.pubs {
		if pb.event == ev {
			live = append(live, pb)
		}
	}
	sort.SliceStable(live, func(i, j int) bool {
		if live[i].published != live[j].published {
			return live[i].published < live[j].published
		}
		return live[i].id < live[j].id
	})
	soft := make([]any, len(live))
	for i, pb := range live {
		soft[i] = pb.state
	}
	var hard any
	if ev == presence.Event {
		hard = p.hard
	}
	p.body = pk.Body(string(p.aor), hard, soft)
	p.bodyEvent, p.bodyOK = ev, true
	return p.body
}

// changedLocked invalidates p's composed body and tells every watcher of event; p.mu is held.
func (a *Agent) changedLocked(p *presentity, event string) {
	p.bodyOK = false
	for _, s := range p.watchers {
		if s.event == event {
			a.stateChangedLocked(s)
		}
	}
}
