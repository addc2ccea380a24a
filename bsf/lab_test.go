package bsf_test

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/imsps/imsps/as/store"
	"github.com/imsps/imsps/bsf"
	"github.com/imsps/imsps/bsf/bsftest"
	"github.com/imsps/imsps/configs"
)

// Demo subscriber keys (TS 35.208 test set 1, configs/subscribers.yaml).
var (
	demoK, _   = hex.DecodeString("465b5ce8b199b49faa5f0a2ee238a6bc")
	demoOPc, _ = hex.DecodeString("cd63cb71954a9f4e48a5994e37a02baf")
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recorder stands in for the XCAP server: it stores PUT bodies by path, returns them on
// GET and remembers the identity headers it was given.
type recorder struct {
	mu       sync.Mutex
	docs     map[string][]byte
	asserted []string
	authz    []string
}

func newRecorder() *recorder { return &recorder{docs: map[string][]byte{}} }

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.asserted = append(rec.asserted, r.Header.Get(bsf.HeaderAssertedIdentity))
	rec.authz = append(rec.authz, r.Header.Get("Authorization"))
	switch r.Method {
	case http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		_, existed := rec.docs[r.URL.Path]
		rec.docs[r.URL.Path] = body
		w.Header().Set("ETag", `"1"`)
		if existed {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusCreated)
		}
	case http.MethodGet:
		doc, ok := rec.docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/pidf+xml")
		w.Write(doc)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (rec *recorder) last() (asserted, authz string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.asserted) == 0 {
		return "", ""
	}
	return rec.asserted[len(rec.asserted)-1], rec.authz[len(rec.authz)-1]
}

type lab struct {
	bsf      *bsf.BSF
	proxy    *bsf.AuthProxy
	ubURL    string
	proxyURL string
	rec      *recorder
	clock    *clock
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// startLab starts the BSF (local vectors, bbolt store) and the proxy in front of a
// recorder, both on 127.0.0.1:0, with a shared settable clock.
func startLab(t testing.TB, mutate func(*bsf.Config, *bsf.AuthProxyConfig)) *lab {
	t.Helper()
	subs, err := configs.LoadSubscribers("")
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "imsps.db"), store.Options{Timeout: time.Second, NoSync: true, BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	vectors, err := bsf.NewLocalVectors(subs)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := bsf.NewSubscriberData(subs)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg, pcfg := bsf.DefaultConfig(), bsf.DefaultAuthProxyConfig()
	if mutate != nil {
		mutate(&cfg, &pcfg)
	}
	log := testLogger(t)
	b, err := bsf.New(cfg, vectors, db, log, bsf.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	p, err := bsf.NewAuthProxy(pcfg, b, sd, rec, log, bsf.WithClock(clk.Now), bsf.WithDigestUsers(sd))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	ubL, pL := listen(t), listen(t)
	wg.Add(2)
	go func() { defer wg.Done(); b.Serve(ctx, ubL) }()
	go func() { defer wg.Done(); p.Serve(ctx, pL) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	scheme := "http://"
	if pcfg.TLS.CertFile != "" {
		scheme = "https://"
	}
	return &lab{
		bsf: b, proxy: p, rec: rec, clock: clk,
		ubURL:    "http://" + ubL.Addr().String() + "/",
		proxyURL: scheme + pL.Addr().String(),
	}
}

func (l *lab) ue(t testing.TB, impi string) *bsftest.UE {
	t.Helper()
	ue := bsftest.NewUE(impi, demoK, demoOPc)
	if err := ue.Bootstrap(t.Context(), l.ubURL); err != nil {
		t.Fatalf("bootstrap %s: %v", impi, err)
	}
	return ue
}
