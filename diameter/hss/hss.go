package hss

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	gdict "github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/configs"
	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
	"github.com/imsps/imsps/diameter/shdata"
)

// HSS is the simulator. Build it with New, serve Diameter with Serve (or Run for both
// listeners of the Config), change users with SetUserState.
type HSS struct {
	cfg  Config
	log  *slog.Logger
	dict *gdict.Parser
	srv  *peer.Server
	db   *db
	ids  *peer.SessionIDs

	smu  sync.Mutex
	subs map[subKey]*subscription
}

// subKey is one AS's subscription to one subscriber.
type subKey struct {
	as  string // Origin-Host of the AS
	sub *subscriber
}

type subscription struct {
	realm   string
	impu    string // the identity the AS subscribed with
	refs    map[dict.DataReference]bool
	sis     map[string]bool
	expires time.Time
}

// Option tunes the simulator beyond its Config.
type Option func(*peer.Options)

// WithTap hands every Diameter message to tap (wire captures in tests).
func WithTap(tap peer.Tap) Option { return func(o *peer.Options) { o.Tap = tap } }

// New builds the simulator from cfg and the subscribers (configs.LoadSubscribers(cfg.SubscribersFile)
// when subs is nil).
func New(cfg Config, subs *configs.Subscribers, log *slog.Logger, opts ...Option) (*HSS, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "hss")
	if subs == nil {
		var err error
		if subs, err = configs.LoadSubscribers(cfg.SubscribersFile); err != nil {
			return nil, fmt.Errorf("hss.subscribers_file: %w", err)
		}
	}
	openState, _ := parseState(cfg.OpenProvisioningState)
	d, err := newDB(subs, cfg.OpenProvisioningDomains, openState)
	if err != nil {
		return nil, fmt.Errorf("hss.subscribers_file: %w", err)
	}
	p, err := dict.New(dict.Sh, dict.Zh)
	if err != nil {
		return nil, err
	}
	h := &HSS{cfg: cfg, log: log, dict: p, db: d, ids: peer.NewSessionIDs(cfg.OriginHost), subs: map[subKey]*subscription{}}
	mux := peer.NewMux()
	mux.HandleFunc(dict.Sh, dict.UserData, h.serveUDR)
	mux.HandleFunc(dict.Sh, dict.ProfileUpdate, h.servePUR)
	mux.HandleFunc(dict.Sh, dict.SubscribeNotifications, h.serveSNR)
	mux.HandleFunc(dict.Zh, dict.MultimediaAuth, h.serveMAR)
	o := peer.Options{
		Local:    peer.Identity{OriginHost: cfg.OriginHost, OriginRealm: cfg.OriginRealm},
		Dict:     p,
		Mux:      mux,
		Watchdog: cfg.Watchdog,
		Log:      log,
	}
	for _, f := range opts {
		f(&o)
	}
	if h.srv, err = peer.NewServer(o); err != nil {
		return nil, err
	}
	return h, nil
}

// Serve answers Diameter on l until ctx ends or Close is called.
func (h *HSS) Serve(ctx context.Context, l net.Listener) error { return h.srv.Serve(ctx, l) }

// Run listens on cfg.Listen (Diameter) and cfg.AdminListen (HTTP admin, when set) and
// serves both until ctx ends.
func (h *HSS) Run(ctx context.Context) error {
	l, err := net.Listen("tcp", h.cfg.Listen)
	if err != nil {
		return fmt.Errorf("hss.listen: %w", err)
	}
	errc := make(chan error, 2)
	go func() { errc <- h.Serve(ctx, l) }()
	if h.cfg.AdminListen != "" {
		al, err := net.Listen("tcp", h.cfg.AdminListen)
		if err != nil {
			h.Close()
			return fmt.Errorf("hss.admin_listen: %w", err)
		}
		hs := &http.Server{Handler: h.AdminHandler(), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			<-ctx.Done()
			hs.Close()
		}()
		go func() {
			if err := hs.Serve(al); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("hss admin: %w", err)
			}
		}()
	}
	h.log.Info("HSS simulator listening", "diameter", l.Addr().String(), "admin", h.cfg.AdminListen)
	select {
	case err := <-errc:
		h.Close()
		return err
	case <-ctx.Done():
		h.Close()
		return nil
	}
}

// Close disconnects every peer (DPR) and stops serving; idempotent.
func (h *HSS) Close() error { return h.srv.Close() }

// SetUserState changes the IMS user state of the subscriber owning impu and pushes a PNR to
// every AS subscribed to IMSUserState, waiting for their answers (or ctx).
func (h *HSS) SetUserState(ctx context.Context, impu as.AOR, st as.UserState) error {
	h.db.mu.Lock()
	sub, ok := h.db.byPublic(string(impu))
	if ok {
		sub.state = st
	}
	h.db.mu.Unlock()
	if !ok {
		return fmt.Errorf("hss: %s: %w", impu, as.ErrUnknownUser)
	}
	h.log.Info("user state changed", "impu", impu, "state", st.String())
	h.push(ctx, sub, "", dict.IMSUserState, "", func(d *shdata.Data) {
		d.IMSData = &shdata.IMSData{IMSUserState: &st}
	})
	return nil
}

// UserState reports the state of the subscriber owning impu.
func (h *HSS) UserState(impu as.AOR) (as.UserState, error) {
	h.db.mu.Lock()
	defer h.db.mu.Unlock()
	sub, ok := h.db.byPublic(string(impu))
	if !ok {
		return 0, fmt.Errorf("hss: %s: %w", impu, as.ErrUnknownUser)
	}
	return sub.state, nil
}

// SetUnavailable makes the user's data temporarily unavailable (Sh answers 4100) or available again.
func (h *HSS) SetUnavailable(impu as.AOR, on bool) error {
	h.db.mu.Lock()
	defer h.db.mu.Unlock()
	sub, ok := h.db.byPublic(string(impu))
	if !ok {
		return fmt.Errorf("hss: %s: %w", impu, as.ErrUnknownUser)
	}
	sub.unavailable = on
	return nil
}

// LockRepository simulates an update in progress on a user's repository data: PURs for it
// get DIAMETER_PRIOR_UPDATE_IN_PROGRESS (4101) until unlock is called.
func (h *HSS) LockRepository(impu as.AOR, si string) (unlock func(), err error) {
	h.db.mu.Lock()
	defer h.db.mu.Unlock()
	sub, ok := h.db.byPublic(string(impu))
	if !ok {
		return nil, fmt.Errorf("hss: %s: %w", impu, as.ErrUnknownUser)
	}
	sub.locked[si] = true
	return func() {
		h.db.mu.Lock()
		delete(sub.locked, si)
		h.db.mu.Unlock()
	}, nil
}

// push sends a PNR for ref (and Service-Indication si) to every AS subscribed to it,
// except the one named except, and waits for the answers.
func (h *HSS) push(ctx context.Context, sub *subscriber, except string, ref dict.DataReference, si string, fill func(*shdata.Data)) {
	type target struct {
		as, realm, impu string
	}
	var targets []target
	now := time.Now()
	h.smu.Lock()
	for k, s := range h.subs {
		if k.sub != sub || k.as == except {
			continue
		}
		if now.After(s.expires) {
			delete(h.subs, k)
			continue
		}
		if !s.refs[ref] || (si != "" && !s.sis[si]) {
			continue
		}
		targets = append(targets, target{k.as, s.realm, s.impu})
	}
	h.smu.Unlock()
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := &shdata.Data{}
			fill(d)
			if err := h.pnr(ctx, t.as, t.realm, t.impu, d); err != nil {
				h.log.Warn("PNR failed", "as", t.as, "impu", t.impu, "err", err)
			}
		}()
	}
	wg.Wait()
}

// pnr sends one Push-Notification-Request (TS 29.329 §6.1.4) to a connected AS.
func (h *HSS) pnr(ctx context.Context, asHost, asRealm, impu string, d *shdata.Data) error {
	c, ok := h.srv.Peer(asHost)
	if !ok {
		return fmt.Errorf("AS %s not connected: %w", asHost, peer.ErrNoPeer)
	}
	m := diam.NewRequest(dict.PushNotification, uint32(dict.Sh), h.dict)
	m.Header.CommandFlags |= diam.ProxiableFlag
	m.AddAVP(peer.Base(dict.AVPSessionID, datatype.UTF8String(h.ids.Next())))
	m.AddAVP(peer.VSAI(dict.Sh))
	m.AddAVP(peer.Base(dict.AVPAuthSessionState, datatype.Enumerated(dict.NoStateMaintained)))
	m.AddAVP(peer.Base(dict.AVPOriginHost, datatype.DiameterIdentity(h.cfg.OriginHost)))
	m.AddAVP(peer.Base(dict.AVPOriginRealm, datatype.DiameterIdentity(h.cfg.OriginRealm)))
	m.AddAVP(peer.Base(dict.AVPDestinationHost, datatype.DiameterIdentity(asHost)))
	m.AddAVP(peer.Base(dict.AVPDestinationRealm, datatype.DiameterIdentity(asRealm)))
	m.AddAVP(peer.Vendor3GPP(dict.AVPUserIdentity, true, &diam.GroupedAVP{AVP: []*diam.AVP{
		peer.Vendor3GPP(dict.AVPPublicIdentity, true, datatype.UTF8String(impu)),
	}}))
	m.AddAVP(peer.Vendor3GPP(dict.AVPUserData, true, datatype.OctetString(d.Marshal())))
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	a, err := c.Request(ctx, m)
	if err != nil {
		return err
	}
	return peer.ResultOf(a)
}
