package sh

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/hss"
	"github.com/imsps/imsps/diameter/peer"
)

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startHSS runs a simulator on 127.0.0.1:0 and returns it with its address.
func startHSS(t testing.TB, mod func(*hss.Config), opts ...hss.Option) (*hss.HSS, string) {
	t.Helper()
	cfg := hss.DefaultConfig()
	cfg.AdminListen = ""
	if mod != nil {
		mod(&cfg)
	}
	h, err := hss.New(cfg, nil, testLog(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { h.Serve(context.Background(), l); close(done) }()
	t.Cleanup(func() { h.Close(); <-done })
	return h, l.Addr().String()
}

func testConfig(addrs ...string) Config {
	cfg := DefaultConfig()
	cfg.Peers = nil
	for _, a := range addrs {
		cfg.Peers = append(cfg.Peers, peer.PeerConfig{Addr: a, Realm: "example.com"})
	}
	cfg.RequestTimeout = 300 * time.Millisecond
	cfg.LookupDeadline = 2 * time.Second
	cfg.Subscribe = false
	return cfg
}

// startClient runs a Client and waits until it has connected to want peers.
func startClient(t testing.TB, cfg Config, want int, opts ...Option) *Client {
	t.Helper()
	c, err := New(cfg, testLog(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { c.Run(context.Background()); close(done) }()
	t.Cleanup(func() { c.Close(); <-done })
	if want > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Peers().WaitConnected(ctx, want); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// counter counts Diameter messages by direction, command and request flag.
type counter struct {
	mu   sync.Mutex
	n    map[[3]uint32]int
	last map[[3]uint32][]byte
	ch   chan *diam.Header
}

func newCounter() *counter {
	return &counter{n: map[[3]uint32]int{}, last: map[[3]uint32][]byte{}, ch: make(chan *diam.Header, 1000)}
}

func (c *counter) tap(out bool, _, _ net.Addr, b []byte) {
	h, err := diam.DecodeHeader(b)
	if err != nil {
		return
	}
	o := uint32(0)
	if out {
		o = 1
	}
	k := [3]uint32{o, h.CommandCode, uint32(h.CommandFlags & diam.RequestFlag)}
	c.mu.Lock()
	c.n[k]++
	c.last[k] = bytes.Clone(b)
	c.mu.Unlock()
	select {
	case c.ch <- h:
	default:
	}
}

func (c *counter) count(out, code, request uint32) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[[3]uint32{out, code, request}]
}

// lastMsg decodes the last message seen of a kind.
func (c *counter) lastMsg(out, code, request uint32) *diam.Message {
	c.mu.Lock()
	b := c.last[[3]uint32{out, code, request}]
	c.mu.Unlock()
	if b == nil {
		return nil
	}
	d, _ := dict.New(dict.Sh, dict.Zh)
	m, err := diam.ReadMessage(bytes.NewReader(b), d)
	if err != nil {
		return nil
	}
	return m
}

func (c *counter) sent(code uint32) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[[3]uint32{1, code, diam.RequestFlag}]
}

// fakeListener records user state changes.
type fakeListener struct{ ch chan stateChange }

type stateChange struct {
	impu  as.AOR
	state as.UserState
}

func (f *fakeListener) UserStateChanged(_ context.Context, impu as.AOR, st as.UserState) {
	f.ch <- stateChange{impu, st}
}

func rawUDR(c *Client, ui *diam.AVP, refs ...dict.DataReference) *diam.Message {
	m := c.newRequest(dict.UserData, "sip:placeholder@example.com")
	m.DeleteAVP(dict.AVPUserIdentity, dict.Vendor3GPP)
	m.AddAVP(ui)
	for _, r := range refs {
		m.AddAVP(dataRef(r))
	}
	return m
}
