package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/imsps/imsps/as"
	bolt "go.etcd.io/bbolt"
)

// Options tune how the file is opened and committed.
type Options struct {
	// Timeout bounds the wait for the file lock another process holds.
	Timeout time.Duration
	// NoSync skips fsync on commit. Only for tests and benchmarks of other layers: a write
	// acknowledged with NoSync set may be lost on a crash.
	NoSync bool
	// BatchDelay is how long a group commit waits for more updates before it commits.
	BatchDelay time.Duration
	// BatchSize is the most updates one group commit takes.
	BatchSize int
}

// DefaultOptions are the options imsps serve uses.
func DefaultOptions() Options {
	return Options{Timeout: 2 * time.Second, BatchDelay: time.Millisecond, BatchSize: 1000}
}

// DB is an as.Store on a bbolt file.
type DB struct {
	bolt   *bolt.DB
	closed atomic.Bool
}

var _ as.Store = (*DB)(nil)

// Open opens (creating if needed) the database file at path and every bucket in as.Buckets.
// It fails after opts.Timeout if another process holds the file.
func Open(path string, opts Options) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, NoSync: opts.NoSync})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open store %s: locked by another process (waited %s)", path, opts.Timeout)
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if opts.BatchDelay > 0 {
		b.MaxBatchDelay = opts.BatchDelay
	}
	if opts.BatchSize > 0 {
		b.MaxBatchSize = opts.BatchSize
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range as.Buckets {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &DB{bolt: b}, nil
}

// View runs fn in a read-only transaction.
func (db *DB) View(ctx context.Context, fn func(as.Tx) error) error {
	if err := db.usable(ctx); err != nil {
		return err
	}
	return db.bolt.View(func(btx *bolt.Tx) error { return fn(tx{btx}) })
}

// Update runs fn in a read-write transaction that may be committed together with other
// concurrent Updates. It returns after the commit reached the disk. fn may run more than once.
func (db *DB) Update(ctx context.Context, fn func(as.Tx) error) error {
	if err := db.usable(ctx); err != nil {
		return err
	}
	return db.bolt.Batch(func(btx *bolt.Tx) error { return fn(tx{btx}) })
}

func (db *DB) usable(ctx context.Context) error {
	if db.closed.Load() {
		return as.ErrStoreClosed
	}
	return ctx.Err()
}

// Close waits for running transactions and closes the file. It is safe to call twice.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	return db.bolt.Close()
}

// ErrNoBucket is returned when a transaction names a bucket that as.Buckets does not list.
var ErrNoBucket = errors.New("no such bucket")

type tx struct{ b *bolt.Tx }

func (t tx) bucket(name as.Bucket) (*bolt.Bucket, error) {
	b := t.b.Bucket([]byte(name))
	if b == nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNoBucket)
	}
	return b, nil
}

func (t tx) Get(name as.Bucket, key string) []byte {
	b, err := t.bucket(name)
	if err != nil {
		return nil
	}
	return b.Get([]byte(key))
}

func (t tx) Put(name as.Bucket, key string, value []byte) error {
	b, err := t.bucket(name)
	if err != nil {
		return err
	}
	// bbolt keeps the slice until commit; the caller may reuse its buffer.
	return b.Put([]byte(key), append([]byte(nil), value...))
}

func (t tx) Delete(name as.Bucket, key string) error {
	b, err := t.bucket(name)
	if err != nil {
		return err
	}
	return b.Delete([]byte(key))
}

func (t tx) ForEach(name as.Bucket, prefix string, fn func(key string, value []byte) error) error {
	b, err := t.bucket(name)
	if err != nil {
		return err
	}
	c := b.Cursor()
	p := []byte(prefix)
	for k, v := c.Seek(p); k != nil && hasPrefix(k, p); k, v = c.Next() {
		if err := fn(string(k), v); err != nil {
			return err
		}
	}
	return nil
}

func hasPrefix(k, p []byte) bool {
	return len(k) >= len(p) && string(k[:len(p)]) == string(p)
}

func (t tx) NextSequence(name as.Bucket) (uint64, error) {
	b, err := t.bucket(name)
	if err != nil {
		return 0, err
	}
	return b.NextSequence()
}
