package astest

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/imsps/imsps/as"
)

// Store is an in-memory as.Store. Updates are atomic (all writes of fn or none) and
// serialized; its contents survive any number of agents built on it, like a database file.
type Store struct {
	mu     sync.RWMutex
	data   map[as.Bucket]map[string][]byte
	seq    map[as.Bucket]uint64
	fail   error
	closed bool
	// Updates counts committed Update calls.
	Updates int
}

var _ as.Store = (*Store)(nil)

// NewStore returns an empty store with every bucket of as.Buckets.
func NewStore() *Store {
	s := &Store{data: map[as.Bucket]map[string][]byte{}, seq: map[as.Bucket]uint64{}}
	for _, b := range as.Buckets {
		s.data[b] = map[string][]byte{}
	}
	return s
}

// FailUpdates makes every following Update return err (nil restores normal operation).
func (s *Store) FailUpdates(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

// Close makes every following call return as.ErrStoreClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// Len returns the number of keys in bucket b.
func (s *Store) Len(b as.Bucket) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.data[b])
}

// Keys returns the keys of bucket b in byte order.
func (s *Store) Keys(b as.Bucket) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.data[b]))
	for k := range s.data[b] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// View runs fn over a consistent snapshot.
func (s *Store) View(ctx context.Context, fn func(as.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return as.ErrStoreClosed
	}
	return fn(&tx{s: s})
}

// Update runs fn and applies its writes only if fn returns nil.
func (s *Store) Update(ctx context.Context, fn func(as.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return as.ErrStoreClosed
	}
	if s.fail != nil {
		return s.fail
	}
	t := &tx{s: s, writable: true, writes: map[as.Bucket]map[string][]byte{}, seq: map[as.Bucket]uint64{}}
	if err := fn(t); err != nil {
		return err
	}
	for b, m := range t.writes {
		for k, v := range m {
			if v == nil {
				delete(s.data[b], k)
			} else {
				s.data[b][k] = v
			}
		}
	}
	for b, n := range t.seq {
		s.seq[b] = n
	}
	s.Updates++
	return nil
}

type tx struct {
	s        *Store
	writable bool
	writes   map[as.Bucket]map[string][]byte // nil value = deleted
	seq      map[as.Bucket]uint64
}

var errReadOnly = errors.New("astest: write in a read-only transaction")

func (t *tx) bucket(b as.Bucket) (map[string][]byte, error) {
	m, ok := t.s.data[b]
	if !ok {
		return nil, errors.New("astest: no bucket " + string(b))
	}
	return m, nil
}

func (t *tx) Get(b as.Bucket, key string) []byte {
	if w, ok := t.writes[b][key]; ok {
		return w
	}
	m, err := t.bucket(b)
	if err != nil {
		return nil
	}
	return m[key]
}

func (t *tx) Put(b as.Bucket, key string, value []byte) error {
	if !t.writable {
		return errReadOnly
	}
	if _, err := t.bucket(b); err != nil {
		return err
	}
	if t.writes[b] == nil {
		t.writes[b] = map[string][]byte{}
	}
	v := make([]byte, len(value))
	copy(v, value)
	t.writes[b][key] = v
	return nil
}

func (t *tx) Delete(b as.Bucket, key string) error {
	if !t.writable {
		return errReadOnly
	}
	if _, err := t.bucket(b); err != nil {
		return err
	}
	if t.writes[b] == nil {
		t.writes[b] = map[string][]byte{}
	}
	t.writes[b][key] = nil
	return nil
}

func (t *tx) ForEach(b as.Bucket, prefix string, fn func(string, []byte) error) error {
	m, err := t.bucket(b)
	if err != nil {
		return err
	}
	merged := map[string][]byte{}
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			merged[k] = v
		}
	}
	for k, v := range t.writes[b] {
		if strings.HasPrefix(k, prefix) {
			if v == nil {
				delete(merged, k)
			} else {
				merged[k] = v
			}
		}
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(k, merged[k]); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) NextSequence(b as.Bucket) (uint64, error) {
	if !t.writable {
		return 0, errReadOnly
	}
	n, ok := t.seq[b]
	if !ok {
		n = t.s.seq[b]
	}
	n++
	t.seq[b] = n
	return n, nil
}
