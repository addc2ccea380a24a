package isctest

// Start and Run run the whole SIP side of imsps in-process: the isc server over the real
// presence agent, a bbolt store in a temporary directory and the open provisioning
// directory of as/astest, listening on random loopback ports.

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/as/astest"
	"github.com/imsps/imsps/as/store"
	"github.com/imsps/imsps/isc"
)

// Option changes how Run sets up the stack.
type Option func(*options)

type options struct {
	server   []isc.Option
	listener func(net.Listener) net.Listener
	dataDir  string
	sip      func(*isc.Config)
	presence func(*as.Config)
	level    slog.Level
}

// WithDataDir keeps the store in dir (default: a fresh t.TempDir()); start two instances
// one after the other on the same dir to test a restart.
func WithDataDir(dir string) Option { return func(o *options) { o.dataDir = dir } }

// WithSIP edits the SIP configuration (listen addresses are always 127.0.0.1:0).
func WithSIP(f func(*isc.Config)) Option { return func(o *options) { o.sip = f } }

// WithPresence edits the presence configuration. Defaults differ from as.DefaultConfig in
// NotifyInterval (0, no rate shaping) and RestartSpread (100 ms) so that tests run fast.
func WithPresence(f func(*as.Config)) Option { return func(o *options) { o.presence = f } }

// WithServerOptions passes options to isc.New.
func WithServerOptions(opts ...isc.Option) Option {
	return func(o *options) { o.server = append(o.server, opts...) }
}

// WithTCPListener wraps the TCP listener before Serve gets it (to inject accept errors).
func WithTCPListener(wrap func(net.Listener) net.Listener) Option {
	return func(o *options) { o.listener = wrap }
}

// WithLogLevel sets the level of the test log (default warn).
func WithLogLevel(l slog.Level) Option { return func(o *options) { o.level = l } }

// Instance is one running stack.
type Instance struct {
	UDP, TCP string // listen addresses (host:port)
	DataDir  string
	Agent    *as.Agent
	Server   *isc.Server
	stop     func()
}

// Stop shuts the stack down gracefully (SIP drained, agent stopped, store closed). It is
// idempotent and also registered with t.Cleanup.
func (i *Instance) Stop() { i.stop() }

// Start runs the SIP side in-process and returns its UDP and TCP addresses. Everything is
// stopped at the end of the test.
func Start(t testing.TB, opts ...Option) (udpAddr, tcpAddr string) {
	t.Helper()
	in := Run(t, opts...)
	return in.UDP, in.TCP
}

// Run is Start returning the Instance, for tests that stop and restart the server.
func Run(t testing.TB, opts ...Option) *Instance {
	t.Helper()
	o := options{level: slog.LevelWarn}
	for _, opt := range opts {
		opt(&o)
	}
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: o.level}))

	scfg := isc.DefaultConfig()
	if o.sip != nil {
		o.sip(&scfg)
	}
	scfg.UDP, scfg.TCP = "127.0.0.1:0", "127.0.0.1:0"
	pcfg := as.DefaultConfig()
	pcfg.NotifyInterval = 0
	pcfg.RestartSpread = 100 * time.Millisecond
	if o.presence != nil {
		o.presence(&pcfg)
	}

	st, err := store.Open(filepath.Join(o.dataDir, "imsps.db"), store.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	n, err := isc.NewNotifier(scfg, log)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	agent, err := as.NewAgent(pcfg, st, astest.NewDirectory(pcfg.Domains...), n, log)
	if err != nil {
		n.Close()
		st.Close()
		t.Fatal(err)
	}
	srv, err := isc.New(scfg, agent, n, log, o.server...)
	if err != nil {
		n.Close()
		st.Close()
		t.Fatal(err)
	}
	udp, tcp, err := isc.Listen(context.Background(), scfg)
	if err != nil {
		n.Close()
		st.Close()
		t.Fatal(err)
	}

	tcpAddr := tcp.Addr().String()
	if o.listener != nil {
		tcp = o.listener(tcp)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	ran := make(chan error, 1)
	go func() { ran <- agent.Run(ctx) }()
	go func() { served <- srv.Serve(ctx, udp, tcp) }()

	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-served; err != nil && !errors.Is(err, isc.ErrServerClosed) {
			t.Errorf("isc Serve: %v", err)
		}
		if err := <-ran; err != nil {
			t.Errorf("agent Run: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("store Close: %v", err)
		}
	}
	t.Cleanup(stop)
	return &Instance{
		UDP: udp.LocalAddr().String(), TCP: tcpAddr, DataDir: o.dataDir,
		Agent: agent, Server: srv, stop: stop,
	}
}
