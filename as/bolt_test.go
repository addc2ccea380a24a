package as_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/as/astest"
	"github.com/imsps/imsps/as/store"
)

func openBolt(tb testing.TB, path string, noSync bool) *store.DB {
	tb.Helper()
	opts := store.DefaultOptions()
	opts.NoSync = noSync
	db, err := store.Open(path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// runAgent starts an agent on st and returns it with a stop func that waits for Run.
func runAgent(tb testing.TB, cfg as.Config, st as.Store, n as.Notifier) (*as.Agent, func()) {
	tb.Helper()
	dir := astest.NewDirectory(cfg.Domains...)
	a, err := as.NewAgent(cfg, st, dir, n, slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.Run(ctx)
	}()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	tb.Cleanup(stop)
	return a, stop
}

// waitNotify returns the next NOTIFY in dialog tag from n.C().
func waitNotify(t *testing.T, n *astest.Notifier, tag string) as.Notification {
	t.Helper()
	for {
		select {
		case x := <-n.C():
			if x.Dialog.LocalTag == tag {
				return x
			}
		case <-t.Context().Done():
			t.Fatal("no NOTIFY")
		}
	}
}

func TestRestartOnBolt(t *testing.T) {
	// Restart on the real store: subscribe, stop, reopen the same file, PUBLISH; the watcher
	// receives the NOTIFY in its original dialog with a higher CSeq.
	path := filepath.Join(t.TempDir(), "imsps.db")
	cfg := as.DefaultConfig()
	cfg.NotifyInterval = 0
	cfg.RestartSpread = 10 * time.Millisecond
	ctx := t.Context()

	db := openBolt(t, path, false)
	n1 := astest.NewNotifier(64)
	a1, stop1 := runAgent(t, cfg, db, n1)
	pub, err := a1.Publish(ctx, as.PublishRequest{Presentity: alice, Publisher: alice, Event: "presence", Expires: -1,
		ContentType: pidfT, Body: pidfDoc(alice, "m", "open")})
	if err != nil {
		t.Fatal(err)
	}
	r := subReq(alice, 3600)
	res, err := a1.Subscribe(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	res.Activate()
	first := waitNotify(t, n1, res.LocalTag)
	stop1()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db2 := openBolt(t, path, false)
	defer db2.Close()
	n2 := astest.NewNotifier(64)
	a2, stop2 := runAgent(t, cfg, db2, n2)
	defer stop2()
	restored := waitNotify(t, n2, res.LocalTag) // owed after restart
	if restored.CSeq <= first.CSeq || restored.Dialog.CallID != r.Dialog.CallID || !bytes.Contains(restored.Body, []byte(`id="m"`)) {
		t.Fatalf("after restart: %+v (first CSeq %d)", restored, first.CSeq)
	}
	if _, err := a2.Publish(ctx, as.PublishRequest{Presentity: alice, Publisher: alice, Event: "presence", IfMatch: pub.ETag,
		Expires: -1, ContentType: pidfT, Body: pidfDoc(alice, "m", "closed")}); err != nil {
		t.Fatalf("modify with the pre-restart etag: %v", err)
	}
	changed := waitNotify(t, n2, res.LocalTag)
	if changed.CSeq != restored.CSeq+1 || !bytes.Contains(changed.Body, []byte("closed")) {
		t.Fatalf("NOTIFY after PUBLISH: %+v", changed)
	}
}

func TestConcurrentPublishersOnBolt(t *testing.T) {
	// RFC 3903 §6: PUBLISHes for one presentity are processed one at a time, atomically;
	// different presentities in parallel. 16 publishers x 20 presentities, each modifying its
	// own publication while others do the same on the same presentities.
	db := openBolt(t, filepath.Join(t.TempDir(), "imsps.db"), true)
	defer db.Close()
	a, stop := runAgent(t, as.DefaultConfig(), db, astest.NewNotifier(0))
	defer stop()
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			etags := map[int]string{}
			for round := range 5 {
				for i := range 20 {
					aor := fmt.Sprintf("sip:user%d@example.com", i)
					res, err := a.Publish(ctx, as.PublishRequest{Presentity: aor, Publisher: aor, Event: "presence",
						IfMatch: etags[i], Expires: -1, ContentType: pidfT, Body: pidfDoc(aor, fmt.Sprintf("g%dr%d", g, round), "open")})
					if err != nil {
						errs <- err
						return
					}
					etags[i] = res.ETag
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var count int
	if err := db.View(ctx, func(tx as.Tx) error {
		return tx.ForEach(as.BucketPublications, "", func(string, []byte) error { count++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if count != 16*20 {
		t.Fatalf("%d publications stored, want %d", count, 16*20)
	}
}
