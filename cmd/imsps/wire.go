package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"sync"
	"time"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/as/store"
	"github.com/imsps/imsps/bsf"
	"github.com/imsps/imsps/configs"
	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/hss"
	"github.com/imsps/imsps/diameter/peer"
	"github.com/imsps/imsps/diameter/sh"
	"github.com/imsps/imsps/isc"
	"github.com/imsps/imsps/ut"
	"github.com/imsps/imsps/ut/auid/pidfmanip"
	"github.com/imsps/imsps/ut/auid/presrules"
	"github.com/imsps/imsps/ut/auid/resourcelists"
	"github.com/imsps/imsps/ut/auid/rlsservices"
	"github.com/imsps/imsps/ut/auid/xcapcaps"
	"github.com/imsps/imsps/ut/auid/xcapdirectory"
)

// role is what one process runs: the whole stack, or one component alone.
type role int

const (
	roleServe role = iota
	roleHSS
	roleBSF
	roleAuthProxy
)

// StoreConfig is the store section of the configuration.
type StoreConfig struct {
	// LockTimeout bounds the wait for the data file another process holds.
	LockTimeout time.Duration `yaml:"lock_timeout"`
	// BatchSize bounds the writes one group commit takes: writes that arrive while a commit
	// is on its way to disk share the next one.
	BatchSize int `yaml:"batch_size"`
}

// stack is a running imsps: every component of a role, bound to its listeners.
type stack struct {
	log     *slog.Logger
	metrics *metrics
	addr    map[string]net.Addr // listener name -> bound address, for tests and the start-up log

	closers []func() error // in reverse start order
	runs    []func(ctx context.Context) error
}

// start builds and binds every component of the role. It fails, with nothing left
// listening, if a component cannot be built or a listener cannot bind.
func start(cfg Config, r role, log *slog.Logger) (*stack, error) {
	s := &stack{log: log, metrics: newMetrics(), addr: map[string]net.Addr{}}
	if err := s.build(cfg, r); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *stack) build(cfg Config, r role) error {
	var err error
	switch r {
	case roleServe:
		if cfg.HSS.Enabled {
			if err = s.hss(&cfg); err != nil {
				return err
			}
		}
		err = s.presence(cfg)
	case roleHSS:
		err = s.hss(&cfg)
	case roleBSF:
		_, err = s.bsf(cfg, nil)
	case roleAuthProxy:
		err = s.authProxy(cfg, nil, nil)
	}
	if err != nil {
		return err
	}
	if cfg.Metrics.Listen != "" {
		l, err := s.listenTCP("metrics.listen", cfg.Metrics.Listen)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.metrics.handler())
		// Profiles for operators, on the same (by default loopback-only) listener.
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		s.serveHTTP(l, mux)
	}
	return nil
}

// serveHTTP serves h on l until the stack stops.
func (s *stack) serveHTTP(l net.Listener, h http.Handler) {
	// Bounded reads and idle connections: a peer that opens connections and trickles or
	// never sends holds nothing for long.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	s.runs = append(s.runs, func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(shutdown)
		}()
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
}

func (s *stack) onClose(f func() error) { s.closers = append(s.closers, f) }

func (s *stack) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			s.log.Warn("close", "err", err)
		}
	}
	s.closers = nil
}

// run runs every component until ctx ends or one fails, then shuts all down.
func (s *stack) run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, run := range s.runs {
		wg.Go(func() {
			if err := run(ctx); err != nil && ctx.Err() == nil {
				cancel(err)
			}
		})
	}
	<-ctx.Done()
	wg.Wait()
	s.close()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (s *stack) listenUDP(name, addr string) (net.PacketConn, error) {
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot listen on udp %s: %w", name, addr, err)
	}
	s.addr[name] = c.LocalAddr()
	s.onClose(func() error { c.Close(); return nil })
	return c, nil
}

func (s *stack) listenTCP(name, addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot listen on tcp %s: %w", name, addr, err)
	}
	s.addr[name] = l.Addr()
	s.onClose(func() error { l.Close(); return nil })
	return l, nil
}

// hss starts the HSS simulator (Sh, Zh) and its admin endpoint. Peers configured at
// hss.listen (the Sh client, the BSF's Zh client) are pointed at the address it bound, which
// differs when hss.listen asks for any port (":0").
func (s *stack) hss(cfg *Config) error {
	h, err := hss.New(cfg.HSS, nil, s.log)
	if err != nil {
		return err
	}
	s.onClose(h.Close)
	l, err := s.listenTCP("hss.listen", cfg.HSS.Listen)
	if err != nil {
		return err
	}
	s.runs = append(s.runs, func(ctx context.Context) error { return h.Serve(ctx, l) })
	if cfg.HSS.AdminListen != "" {
		admin, err := s.listenTCP("hss.admin_listen", cfg.HSS.AdminListen)
		if err != nil {
			return err
		}
		s.serveHTTP(admin, h.AdminHandler())
	}
	bound := l.Addr().String()
	peers := make([]peer.PeerConfig, len(cfg.Sh.Peers))
	for i, p := range cfg.Sh.Peers {
		if p.Addr == cfg.HSS.Listen {
			p.Addr = bound
		}
		peers[i] = p
	}
	cfg.Sh.Peers = peers
	if cfg.BSF.Zh.Address == cfg.HSS.Listen {
		cfg.BSF.Zh.Address = bound
	}
	return nil
}

func (s *stack) openStore(cfg Config) (*store.DB, error) {
	db, err := store.Open(filepath.Join(cfg.Data, "imsps.db"), store.Options{
		Timeout: cfg.Store.LockTimeout, BatchSize: cfg.Store.BatchSize})
	if err != nil {
		return nil, err
	}
	s.onClose(db.Close)
	return db, nil
}

// presence wires the store, the presence agent and the SIP adapter.
func (s *stack) presence(cfg Config) error {
	db, err := s.openStore(cfg)
	if err != nil {
		return err
	}

	dir, err := sh.New(cfg.Sh, s.log)
	if err != nil {
		return err
	}
	s.onClose(dir.Close)
	s.runs = append(s.runs, dir.Run)
	notifier, err := isc.NewNotifier(cfg.SIP, s.log)
	if err != nil {
		return err
	}
	s.onClose(notifier.Close)
	agent, err := as.NewAgent(cfg.Presence, db, dir, notifier, s.log)
	if err != nil {
		return err
	}
	dir.SetUserStateListener(agent)
	s.metrics.watchAgent(agent)
	srv, err := isc.New(cfg.SIP, countedPresence{agent, s.metrics.requests}, notifier, s.log, isc.WithRegistrar(dir))
	if err != nil {
		return err
	}
	var udp net.PacketConn
	var tcp net.Listener
	if cfg.SIP.UDP != "" {
		if udp, err = s.listenUDP("sip.udp", cfg.SIP.UDP); err != nil {
			return err
		}
	}
	if cfg.SIP.TCP != "" {
		if tcp, err = s.listenTCP("sip.tcp", cfg.SIP.TCP); err != nil {
			return err
		}
	}
	s.onClose(srv.Close)
	s.runs = append(s.runs, agent.Run, func(ctx context.Context) error { return srv.Serve(ctx, udp, tcp) })

	l, err := s.listenTCP("xcap.listen", cfg.XCAP.Listen)
	if err != nil {
		return err
	}
	xcap, err := s.xcap(cfg, db, agent, "http://"+l.Addr().String()+cfg.XCAP.Root)
	if err != nil {
		return err
	}
	s.runs = append(s.runs, func(ctx context.Context) error { return xcap.Serve(ctx, l) })

	b, err := s.bsf(cfg, db)
	if err != nil {
		return err
	}
	return s.authProxy(cfg, b, xcap.AssertedHandler())
}

// bsf builds the GBA bootstrapping server (Ub) and its Zn server. With db nil (imsps bsf)
// it opens the data directory's store itself.
func (s *stack) bsf(cfg Config, db as.Store) (*bsf.BSF, error) {
	if db == nil {
		var err error
		if db, err = s.openStore(cfg); err != nil {
			return nil, err
		}
	}
	subs, err := configs.LoadSubscribers(cfg.BSF.Subscribers)
	if err != nil {
		return nil, fmt.Errorf("bsf.subscribers: %w", err)
	}
	var vectors bsf.VectorSource
	switch cfg.BSF.Vectors {
	case "zh":
		zh, err := bsf.NewPeerClient(cfg.BSF.Zh, dict.Zh, nil, s.log)
		if err != nil {
			return nil, err
		}
		s.runs = append(s.runs, zh.Run)
		if vectors, err = bsf.NewZhClient(cfg.BSF.Zh, zh); err != nil {
			return nil, err
		}
	default:
		if vectors, err = bsf.NewLocalVectors(subs); err != nil {
			return nil, err
		}
	}
	b, err := bsf.New(cfg.BSF, vectors, db, s.log)
	if err != nil {
		return nil, err
	}
	s.onClose(b.Close)
	ub, err := s.listenTCP("bsf.listen", cfg.BSF.Listen)
	if err != nil {
		return nil, err
	}
	s.runs = append(s.runs, func(ctx context.Context) error { return b.Serve(ctx, ub) })

	zn, err := bsf.NewZnServer(cfg.BSF.Zn, b, s.log)
	if err != nil {
		return nil, err
	}
	znServer, err := bsf.NewZnPeerServer(cfg.BSF.Zn, zn, nil, s.log)
	if err != nil {
		return nil, err
	}
	znListener, err := s.listenTCP("bsf.zn.address", cfg.BSF.Zn.Address)
	if err != nil {
		return nil, err
	}
	s.runs = append(s.runs, func(ctx context.Context) error { return znServer.Serve(ctx, znListener) })
	return b, nil
}

// authProxy builds the Ut authentication proxy (NAF). With keys from an in-process BSF it
// hands authenticated requests to the XCAP server in process (next); otherwise it fetches
// Ks_NAF over Zn and, with next nil, forwards to authproxy.upstream.
func (s *stack) authProxy(cfg Config, keys bsf.KeyService, next http.Handler) error {
	subs, err := configs.LoadSubscribers(cfg.BSF.Subscribers)
	if err != nil {
		return fmt.Errorf("bsf.subscribers: %w", err)
	}
	users, err := bsf.NewSubscriberData(subs)
	if err != nil {
		return err
	}
	if keys == nil || cfg.AuthProxy.Keys == "zn" {
		zn, err := bsf.NewPeerClient(cfg.AuthProxy.Zn, dict.Zn, nil, s.log)
		if err != nil {
			return err
		}
		s.runs = append(s.runs, zn.Run)
		if keys, err = bsf.NewZnClient(cfg.AuthProxy.Zn, zn); err != nil {
			return err
		}
	}
	proxy, err := bsf.NewAuthProxy(cfg.AuthProxy, keys, users, next, s.log, bsf.WithDigestUsers(users))
	if err != nil {
		return err
	}
	s.onClose(proxy.Close)
	l, err := s.listenTCP("authproxy.listen", cfg.AuthProxy.Listen)
	if err != nil {
		return err
	}
	s.runs = append(s.runs, func(ctx context.Context) error { return proxy.Serve(ctx, l) })
	return nil
}

// xcap builds the XCAP server with every application usage; pidf-manipulation writes
// become the presentity's hard state (RFC 4827) and reach its watchers.
// root is the absolute XCAP root URI that directory listings name.
func (s *stack) xcap(cfg Config, db as.Store, agent *as.Agent, root string) (*ut.Server, error) {
	ctx := context.Background()
	var usages []ut.AppUsage
	registry := func() []ut.AppUsage { return usages }
	hardState := func(ctx context.Context, xui string, body []byte) error {
		return agent.SetHardState(ctx, as.AOR(xui), body)
	}
	pidf, err := pidfmanip.New(ctx, hardState, s.log)
	if err != nil {
		return nil, err
	}
	lists, err := resourcelists.New(ctx)
	if err != nil {
		return nil, err
	}
	services, err := rlsservices.New(ctx)
	if err != nil {
		return nil, err
	}
	rules, err := presrules.New(ctx, presrules.AUID)
	if err != nil {
		return nil, err
	}
	omaRules, err := presrules.New(ctx, presrules.OMAAUID)
	if err != nil {
		return nil, err
	}
	caps, err := xcapcaps.New(ctx, registry)
	if err != nil {
		return nil, err
	}
	directory, err := xcapdirectory.New(ctx, root, registry)
	if err != nil {
		return nil, err
	}
	usages = []ut.AppUsage{caps, lists, services, rules, omaRules, pidf, directory}
	srv, err := ut.New(cfg.XCAP, db, usages, s.log)
	if err != nil {
		return nil, err
	}
	s.onClose(func() error { srv.Close(); return nil })
	return srv, nil
}

// serve starts the role and runs it until ctx ends.
func serve(ctx context.Context, cfg Config, r role, log *slog.Logger) error {
	s, err := start(cfg, r, log)
	if err != nil {
		return err
	}
	for name, a := range s.addr {
		log.Info("listening", "listener", name, "addr", a.String())
	}
	return s.run(ctx)
}
