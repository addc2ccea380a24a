package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/as/store"
)

func open(t testing.TB, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path, store.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStoreContract(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "imsps.db"))
	buf := []byte("v1")
	err := db.Update(ctx, func(tx as.Tx) error {
		for _, k := range []string{"a/1", "a/2", "b/1"} {
			if err := tx.Put(as.BucketMeta, k, buf); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	buf[1] = '9' // the store copied the value

	tests := []struct {
		name   string
		prefix string
		want   []string
	}{
		{"prefix selects only its keys, in order", "a/", []string{"a/1", "a/2"}},
		{"empty prefix selects all", "", []string{"a/1", "a/2", "b/1"}},
		{"no match", "c/", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := db.View(ctx, func(tx as.Tx) error {
				return tx.ForEach(as.BucketMeta, tc.prefix, func(k string, v []byte) error {
					if string(v) != "v1" {
						return fmt.Errorf("%s = %q, want v1", k, v)
					}
					got = append(got, k)
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}

	if err := db.Update(ctx, func(tx as.Tx) error { return tx.Delete(as.BucketMeta, "a/1") }); err != nil {
		t.Fatal(err)
	}
	db.View(ctx, func(tx as.Tx) error {
		if v := tx.Get(as.BucketMeta, "a/1"); v != nil {
			t.Errorf("deleted key still has %q", v)
		}
		return nil
	})
}

func TestUpdateErrorCommitsNothing(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "imsps.db"))
	boom := errors.New("boom")
	err := db.Update(ctx, func(tx as.Tx) error {
		if err := tx.Put(as.BucketMeta, "k", []byte("v")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	db.View(ctx, func(tx as.Tx) error {
		if v := tx.Get(as.BucketMeta, "k"); v != nil {
			t.Errorf("failed update left %q", v)
		}
		return nil
	})
}

func TestUnknownBucket(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "imsps.db"))
	err := db.Update(context.Background(), func(tx as.Tx) error { return tx.Put("nope", "k", nil) })
	if !errors.Is(err, store.ErrNoBucket) {
		t.Fatalf("err = %v, want ErrNoBucket", err)
	}
}

// Concurrent read-modify-writes of one key through group commit must not lose an increment.
func TestConcurrentUpdatesAreSerializable(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "imsps.db"))
	const n = 200
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			err := db.Update(ctx, func(tx as.Tx) error {
				v := tx.Get(as.BucketMeta, "counter")
				c := 0
				if v != nil {
					fmt.Sscan(string(v), &c)
				}
				return tx.Put(as.BucketMeta, "counter", []byte(fmt.Sprint(c+1)))
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	db.View(ctx, func(tx as.Tx) error {
		if got := string(tx.Get(as.BucketMeta, "counter")); got != fmt.Sprint(n) {
			t.Errorf("counter = %s, want %d", got, n)
		}
		return nil
	})
}

func TestDataSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "imsps.db")
	db, err := store.Open(path, store.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	db.Update(ctx, func(tx as.Tx) error {
		seq, err = tx.NextSequence(as.BucketMeta)
		if err != nil {
			return err
		}
		return tx.Put(as.BucketMeta, "k", []byte("kept"))
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := db.Update(ctx, func(as.Tx) error { return nil }); !errors.Is(err, as.ErrStoreClosed) {
		t.Fatalf("Update after Close = %v, want ErrStoreClosed", err)
	}
	db = open(t, path)
	db.Update(ctx, func(tx as.Tx) error {
		if v := tx.Get(as.BucketMeta, "k"); string(v) != "kept" {
			t.Errorf("after reopen k = %q", v)
		}
		next, _ := tx.NextSequence(as.BucketMeta)
		if next != seq+1 {
			t.Errorf("sequence after reopen = %d, want %d", next, seq+1)
		}
		return nil
	})
}

func TestOpenLockedFileTimesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imsps.db")
	open(t, path)
	opts := store.DefaultOptions()
	opts.Timeout = 50 * time.Millisecond
	if db, err := store.Open(path, opts); err == nil {
		db.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
}

func TestCancelledContext(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "imsps.db"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.Update(ctx, func(as.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// BenchmarkUpdateParallel measures durable group-committed writes of distinct keys.
func BenchmarkUpdateParallel(b *testing.B) {
	db := open(b, filepath.Join(b.TempDir(), "imsps.db"))
	ctx := context.Background()
	val := make([]byte, 300)
	b.SetParallelism(16)
	var n sync.Mutex
	i := 0
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.Lock()
			i++
			k := fmt.Sprintf("p/%08d", i%10000)
			n.Unlock()
			if err := db.Update(ctx, func(tx as.Tx) error { return tx.Put(as.BucketPublications, k, val) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// In a group commit, one failing update must not take the others down with it, nor leave
// its own writes behind.
func TestFailingUpdateInAGroupCommit(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "imsps.db"))
	boom := errors.New("boom")
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			err := db.Update(ctx, func(tx as.Tx) error {
				if err := tx.Put(as.BucketMeta, fmt.Sprintf("k%03d", i), []byte("v")); err != nil {
					return err
				}
				if i%5 == 0 {
					return boom
				}
				return nil
			})
			if (i%5 == 0) != errors.Is(err, boom) {
				t.Errorf("update %d: err = %v", i, err)
			}
		})
	}
	wg.Wait()
	db.View(ctx, func(tx as.Tx) error {
		for i := range 100 {
			if got := tx.Get(as.BucketMeta, fmt.Sprintf("k%03d", i)) != nil; got != (i%5 != 0) {
				t.Errorf("k%03d stored = %v", i, got)
			}
		}
		return nil
	})
}

// Close commits what is already queued; later updates get ErrStoreClosed.
func TestCloseWithUpdatesInFlight(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "imsps.db")
	db, err := store.Open(path, store.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]bool{}
	for i := range 200 {
		wg.Go(func() {
			k := fmt.Sprintf("k%03d", i)
			err := db.Update(ctx, func(tx as.Tx) error { return tx.Put(as.BucketMeta, k, []byte("v")) })
			switch {
			case err == nil:
				mu.Lock()
				acked[k] = true
				mu.Unlock()
			case !errors.Is(err, as.ErrStoreClosed):
				t.Errorf("update %s: %v", k, err)
			}
		})
	}
	db.Close()
	wg.Wait()
	db = open(t, path)
	db.View(ctx, func(tx as.Tx) error {
		for k := range acked {
			if tx.Get(as.BucketMeta, k) == nil {
				t.Errorf("%s was acknowledged but is not stored", k)
			}
		}
		return nil
	})
}

// BenchmarkUpdateSerial measures one durable write at a time: the latency a lone request sees.
func BenchmarkUpdateSerial(b *testing.B) {
	db := open(b, filepath.Join(b.TempDir(), "imsps.db"))
	ctx := context.Background()
	val := make([]byte, 300)
	i := 0
	for b.Loop() {
		i++
		k := fmt.Sprintf("p/%08d", i)
		if err := db.Update(ctx, func(tx as.Tx) error { return tx.Put(as.BucketPublications, k, val) }); err != nil {
			b.Fatal(err)
		}
	}
}
