package astest_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/as/astest"
	"github.com/imsps/imsps/as/store"
)

// TestStoreContract runs one as.Store contract against the in-memory store and bbolt, so
// that tests on astest.Store mean the same as on the real store.
func TestStoreContract(t *testing.T) {
	stores := map[string]func(t *testing.T) as.Store{
		"astest": func(*testing.T) as.Store { return astest.NewStore() },
		"bbolt": func(t *testing.T) as.Store {
			opts := store.DefaultOptions()
			opts.NoSync = true
			db, err := store.Open(filepath.Join(t.TempDir(), "imsps.db"), opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			b := as.BucketPublications
			if err := st.Update(ctx, func(tx as.Tx) error {
				for _, k := range []string{"p\x00b", "p\x00a", "h\x00a", "q"} {
					if err := tx.Put(b, k, []byte(k)); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			// a failing Update commits nothing
			boom := errors.New("boom")
			if err := st.Update(ctx, func(tx as.Tx) error {
				_ = tx.Delete(b, "q")
				_ = tx.Put(b, "p\x00c", []byte("c"))
				return boom
			}); !errors.Is(err, boom) {
				t.Fatalf("failing update: %v", err)
			}
			var keys []string
			if err := st.View(ctx, func(tx as.Tx) error {
				if string(tx.Get(b, "q")) != "q" || tx.Get(b, "p\x00c") != nil {
					return errors.New("failed update leaked")
				}
				return tx.ForEach(b, "p\x00", func(k string, v []byte) error {
					if string(v) != k {
						return errors.New("value mismatch")
					}
					keys = append(keys, k)
					return nil
				})
			}); err != nil {
				t.Fatal(err)
			}
			if len(keys) != 2 || keys[0] != "p\x00a" || keys[1] != "p\x00b" {
				t.Fatalf("prefix scan in byte order: %q", keys)
			}
			// NextSequence increases; Delete removes
			var s1, s2 uint64
			if err := st.Update(ctx, func(tx as.Tx) error {
				var err error
				if s1, err = tx.NextSequence(b); err != nil {
					return err
				}
				s2, err = tx.NextSequence(b)
				if err != nil {
					return err
				}
				return tx.Delete(b, "q")
			}); err != nil || s2 != s1+1 {
				t.Fatalf("sequence %d %d %v", s1, s2, err)
			}
			if err := st.View(ctx, func(tx as.Tx) error {
				if tx.Get(b, "q") != nil {
					return errors.New("delete not applied")
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
