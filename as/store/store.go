package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
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
	// BatchSize is the most updates one group commit takes.
	BatchSize int
}

// DefaultOptions are the options imsps serve uses.
func DefaultOptions() Options {
	return Options{Timeout: 2 * time.Second, BatchSize: 1000}
}

// DB is an as.Store on a bbolt file.
//
// Updates are group-committed by one committer goroutine: an Update that finds the
// committer idle is committed at once; Updates that arrive while a commit is being written
// wait for it to finish and are then committed together, sharing one fsync. So a lone write
// pays no batching delay, and under load the commit rate, not the write rate, is bounded by
// the disk.
type DB struct {
	bolt      *bolt.DB
	batchSize int

	mu      sync.RWMutex // guards closed against enqueueing into a closed queue
	closed  bool
	queue   chan *call
	stopped chan struct{} // closed when the committer has drained the queue and exited
}

// call is one Update waiting for its commit.
type call struct {
	fn   func(as.Tx) error
	done chan error
}

var _ as.Store = (*DB)(nil)

// Open opens (creating if needed) the database file at path and every bucket in as.Buckets.
// It fails after opts.Timeout if another process holds the file.
func Open(path string, opts Options) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// The freelist is rebuilt at open instead of being written by every commit: commits of
	// a large file stay small (the trade etcd makes too).
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, NoSync: opts.NoSync,
		NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open store %s: locked by another process (waited %s)", path, opts.Timeout)
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
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
	size := opts.BatchSize
	if size <= 0 {
		size = DefaultOptions().BatchSize
	}
	db := &DB{bolt: b, batchSize: size, queue: make(chan *call, size), stopped: make(chan struct{})}
	go db.commit()
	return db, nil
}

// View runs fn in a read-only transaction.
func (db *DB) View(ctx context.Context, fn func(as.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return as.ErrStoreClosed
	}
	return db.bolt.View(func(btx *bolt.Tx) error { return fn(tx{btx}) })
}

// Update runs fn in a read-write transaction that may be committed together with other
// concurrent Updates, and returns once that commit is on disk. fn may run more than once.
// Once fn is queued, Update waits for the commit even if ctx ends, so that an error return
// never hides a committed write.
func (db *DB) Update(ctx context.Context, fn func(as.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &call{fn: fn, done: make(chan error, 1)}
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return as.ErrStoreClosed
	}
	db.queue <- c
	db.mu.RUnlock()
	return <-c.done
}

// commit is the committer: it takes whatever is queued, up to batchSize, and commits it in
// one transaction, until Close closes the queue.
func (db *DB) commit() {
	defer close(db.stopped)
	batch := make([]*call, 0, db.batchSize)
	for c := range db.queue {
		batch = append(batch[:0], c)
	fill:
		for len(batch) < db.batchSize {
			select {
			case c, ok := <-db.queue:
				if !ok {
					break fill
				}
				batch = append(batch, c)
			default:
				break fill
			}
		}
		db.run(batch)
	}
}

// run commits a batch. If one call fails, the transaction is rolled back, that call is run
// alone to report its own error, and the others are committed without it.
func (db *DB) run(batch []*call) {
	for len(batch) > 0 {
		failed := -1
		err := db.bolt.Update(func(btx *bolt.Tx) error {
			for i, c := range batch {
				if err := c.fn(tx{btx}); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, c := range batch {
				c.done <- err
			}
			return
		}
		c := batch[failed]
		c.done <- db.bolt.Update(func(btx *bolt.Tx) error { return c.fn(tx{btx}) })
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
}

// Close commits what is queued, waits for running transactions and closes the file. It is
// safe to call twice.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	close(db.queue)
	db.mu.Unlock()
	<-db.stopped
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
