// Package uttest starts the XCAP server in-process for tests, with an in-memory store.
//
// It is for tests of ut and of packages that talk XCAP to it (conformance, bsf's NAF).
package uttest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/ut"
)

// Server is a running XCAP server.
type Server struct {
	*ut.Server
	HTTP *httptest.Server
	// Root is the XCAP root URL, e.g. http://127.0.0.1:41234/xcap-root.
	Root  string
	Store as.Store
}

// Start runs ut.New(cfg, st, usages) behind httptest on 127.0.0.1 (st nil: a new
// MemStore). The server stops when the test ends.
func Start(tb testing.TB, cfg ut.Config, st as.Store, usages []ut.AppUsage) *Server {
	tb.Helper()
	if st == nil {
		st = NewMemStore()
	}
	log := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := ut.New(cfg, st, usages, log)
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	tb.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return &Server{Server: srv, HTTP: hs, Root: hs.URL + strings.TrimSuffix(cfg.Root, "/"), Store: st}
}

// MemStore is an in-memory as.Store: Updates are serialised and atomic (applied only when
// fn returns nil); nothing is durable.
type MemStore struct {
	mu      sync.RWMutex
	buckets map[as.Bucket]map[string][]byte
	seq     map[as.Bucket]uint64
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{buckets: map[as.Bucket]map[string][]byte{}, seq: map[as.Bucket]uint64{}}
}

var _ as.Store = (*MemStore)(nil)

// View runs fn in a read-only transaction.
func (m *MemStore) View(ctx context.Context, fn func(as.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return fn(&memTx{m: m, readOnly: true})
}

// Update runs fn in a read-write transaction and applies its writes if fn returns nil.
func (m *MemStore) Update(ctx context.Context, fn func(as.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &memTx{m: m, writes: map[as.Bucket]map[string][]byte{}, seq: map[as.Bucket]uint64{}}
	if err := fn(tx); err != nil {
		return err
	}
	for b, kv := range tx.writes {
		if m.buckets[b] == nil {
			m.buckets[b] = map[string][]byte{}
		}
		for k, v := range kv {
			if v == nil {
				delete(m.buckets[b], k)
			} else {
				m.buckets[b][k] = v
			}
		}
	}
	for b, n := range tx.seq {
		m.seq[b] = n
	}
	return nil
}

type memTx struct {
	m        *MemStore
	readOnly bool
	writes   map[as.Bucket]map[string][]byte // nil value: deleted
	seq      map[as.Bucket]uint64
}

func (t *memTx) Get(b as.Bucket, key string) []byte {
	if w, ok := t.writes[b]; ok {
		if v, ok := w[key]; ok {
			return v
		}
	}
	return t.m.buckets[b][key]
}

func (t *memTx) Put(b as.Bucket, key string, value []byte) error {
	if t.readOnly {
		return errReadOnly
	}
	if t.writes[b] == nil {
		t.writes[b] = map[string][]byte{}
	}
	t.writes[b][key] = append([]byte{}, value...)
	return nil
}

func (t *memTx) Delete(b as.Bucket, key string) error {
	if t.readOnly {
		return errReadOnly
	}
	if t.writes[b] == nil {
		t.writes[b] = map[string][]byte{}
	}
	t.writes[b][key] = nil
	return nil
}

func (t *memTx) ForEach(b as.Bucket, prefix string, fn func(string, []byte) error) error {
	keys := map[string]bool{}
	for k := range t.m.buckets[b] {
		if strings.HasPrefix(k, prefix) {
			keys[k] = true
		}
	}
	for k := range t.writes[b] {
		if strings.HasPrefix(k, prefix) {
			keys[k] = true
		}
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		v := t.Get(b, k)
		if v == nil {
			continue
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (t *memTx) NextSequence(b as.Bucket) (uint64, error) {
	if t.readOnly {
		return 0, errReadOnly
	}
	n, ok := t.seq[b]
	if !ok {
		n = t.m.seq[b]
	}
	n++
	t.seq[b] = n
	return n, nil
}

type readOnlyError struct{}

func (readOnlyError) Error() string { return "uttest: write in a read-only transaction" }

var errReadOnly error = readOnlyError{}
