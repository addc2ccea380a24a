package as_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/as/astest"
)

// gateStore blocks every Update until its gate channel is closed.
type gateStore struct {
	*astest.Store
	gate chan struct{}
}

func (g *gateStore) Update(ctx context.Context, fn func(as.Tx) error) error {
	<-g.gate
	return g.Store.Update(ctx, fn)
}

func TestMaxQueueOverload(t *testing.T) {
	// Bounded queues: more than presence.max_queue requests waiting for one presentity -> 503.
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxQueue = 2
		st := &gateStore{Store: astest.NewStore(), gate: make(chan struct{})}
		dir := astest.NewDirectory("example.com")
		a, err := as.NewAgent(cfg, st, dir, astest.NewNotifier(8), discardLog())
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				_, err := a.Publish(context.Background(), as.PublishRequest{Presentity: alice, Publisher: alice, Event: "presence",
					Expires: -1, ContentType: pidfT, Body: pidfDoc(alice, "t", "open")})
				errs <- err
			}()
		}
		synctest.Wait() // one holds the lock in Update, two wait
		_, err = a.Publish(context.Background(), as.PublishRequest{Presentity: alice, Publisher: alice, Event: "presence",
			Expires: -1, ContentType: pidfT, Body: pidfDoc(alice, "t", "open")})
		if !errors.Is(err, as.ErrOverloaded) {
			t.Fatalf("4th queued request: %v", err)
		}
		// another presentity is not held up by alice's queue
		go func() {
			_, err := a.Publish(context.Background(), as.PublishRequest{Presentity: bob, Publisher: bob, Event: "presence",
				Expires: -1, ContentType: pidfT, Body: pidfDoc(bob, "t", "open")})
			errs <- err
		}()
		synctest.Wait()
		close(st.gate)
		for range 4 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestPublishDoesNotWaitForNotify(t *testing.T) {
	// NOTIFY sending never blocks PUBLISH: watchers that never answer, a one-worker pool and
	// a one-slot queue still let every PUBLISH complete.
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.NotifyWorkers, cfg.NotifyQueue, cfg.NotifyInterval = 1, 1, 0
		release := make(chan struct{})
		n := astest.NewNotifier(0)
		n.Respond = func(as.Notification) error { <-release; return nil }
		f := start(t, cfg, nil, n)
		for range 5 {
			r := subReq(alice, 600)
			res, err := f.a.Subscribe(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			res.Activate()
		}
		var etag string
		for i := range 10 {
			res := f.mustPublish(as.PublishRequest{IfMatch: etag, Body: pidfDoc(alice, "t", []string{"open", "closed"}[i%2])})
			etag = res.ETag
		}
		close(release)
		time.Sleep(time.Minute)
		synctest.Wait()
		// every watcher ends with the latest state (changes coalesced while it waited)
		last := map[string]as.Notification{}
		for _, x := range n.Sent() {
			last[x.Dialog.LocalTag] = x
		}
		if len(last) != 5 {
			t.Fatalf("%d of 5 watchers notified", len(last))
		}
		for tag, x := range last {
			if !bytes.Contains(x.Body, []byte("closed")) {
				t.Fatalf("watcher %s ended with %s", tag, x.Body)
			}
		}
	})
}

func TestCSeqStrictlyIncreasing(t *testing.T) {
	// RFC 3261 §12.2.1.1: CSeq strictly increasing within the dialog, across many changes.
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.NotifyInterval = 0
		f := start(t, cfg, nil, nil)
		r, _ := f.subscribe(alice, 3600)
		var etag string
		for i := range 300 {
			etag = f.mustPublish(as.PublishRequest{IfMatch: etag, Body: pidfDoc(alice, "t", []string{"open", "closed"}[i%2])}).ETag
			synctest.Wait()
		}
		ns := f.n.For(r.Dialog.LocalTag)
		if len(ns) != 301 {
			t.Fatalf("%d NOTIFYs", len(ns))
		}
		for i := 1; i < len(ns); i++ {
			if ns[i].CSeq != ns[i-1].CSeq+1 {
				t.Fatalf("CSeq %d after %d", ns[i].CSeq, ns[i-1].CSeq)
			}
		}
	})
}
