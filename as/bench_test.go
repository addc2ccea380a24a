package as_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/as/store"
)

const benchPresentities = 10000

func benchAORs() []string {
	aors := make([]string, benchPresentities)
	for i := range aors {
		aors[i] = fmt.Sprintf("sip:user%d@example.com", i)
	}
	return aors
}

// BenchmarkPublish: durable PUBLISH (modify with a PIDF body, committed with fsync through
// the bbolt store's group commit) from many concurrent publishers over 10,000 presentities.
func BenchmarkPublish(b *testing.B) {
	opts := store.DefaultOptions()
	opts.NoSync = os.Getenv("NOSYNC") != ""
	if d, err := time.ParseDuration(os.Getenv("BATCHDELAY")); err == nil {
		opts.BatchDelay = d
	}
	db, err := store.Open(filepath.Join(b.TempDir(), "imsps.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cfg := as.DefaultConfig()
	a, stop := runAgent(b, cfg, db, &countingNotifier{})
	defer stop()
	aors := benchAORs()
	bodies := make([][]byte, len(aors))
	for i, aor := range aors {
		bodies[i] = pidfDoc(aor, "mobile", "open")
	}
	var next atomic.Int64
	const workers = 256 // concurrent transactions, as a SIP server under load has
	b.SetParallelism(workers / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := int(next.Add(1) - 1)
		etags := map[int]string{}
		i := g
		ctx := context.Background()
		for pb.Next() {
			k := i % len(aors)
			res, err := a.Publish(ctx, as.PublishRequest{Presentity: aors[k], Publisher: aors[k], Event: "presence",
				IfMatch: etags[k], Expires: -1, ContentType: pidfT, Body: bodies[k]})
			if err != nil {
				b.Error(err)
				return
			}
			etags[k] = res.ETag
			i += workers
			if i >= len(aors)*4 {
				i = g
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publish/s")
}

// BenchmarkSubscribeNotify: durable SUBSCRIBE (committed before the 200) followed by its
// first NOTIFY (through the worker pool to the Notifier), over 10,000 presentities that
// each have a publication.
func BenchmarkSubscribeNotify(b *testing.B) {
	db := openBolt(b, filepath.Join(b.TempDir(), "imsps.db"), false)
	defer db.Close()
	cfg := as.DefaultConfig()
	cfg.MaxWatchers = 1 << 20
	n := &signalNotifier{}
	a, stop := runAgent(b, cfg, db, n)
	defer stop()
	aors := benchAORs()
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			for i := w; i < len(aors); i += 64 {
				if _, err := a.Publish(ctx, as.PublishRequest{Presentity: aors[i], Publisher: aors[i], Event: "presence",
					Expires: -1, ContentType: pidfT, Body: pidfDoc(aors[i], "mobile", "open")}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
	var next atomic.Int64
	b.SetParallelism(256 / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		done := make(chan struct{}, 1)
		for pb.Next() {
			k := next.Add(1)
			r := as.SubscribeRequest{
				Dialog: as.Dialog{CallID: fmt.Sprintf("bench-%d", k), RemoteTag: "wt", LocalURI: "<sip:x@example.com>",
					RemoteURI: "<sip:w@example.com>", RemoteTarget: "sip:w@127.0.0.1:5070", Transport: "udp", Source: "127.0.0.1:5070"},
				Resource: aors[int(k)%len(aors)], Watcher: "sip:w@example.com", Event: "presence", Expires: 3600,
			}
			n.m.Store(r.Dialog.CallID, done)
			res, err := a.Subscribe(ctx, r)
			if err != nil {
				b.Error(err)
				return
			}
			res.Activate()
			<-done
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "subscribe+notify/s")
}

// BenchmarkIdleSubscriptionHeap reports the agent's heap per idle subscription, with
// 100,000 subscriptions over 10,000 presentities (the store is bbolt, whose pages live in
// the mmap, not the Go heap).
func BenchmarkIdleSubscriptionHeap(b *testing.B) {
	db := openBolt(b, filepath.Join(b.TempDir(), "imsps.db"), true)
	defer db.Close()
	cfg := as.DefaultConfig()
	cfg.NotifyInterval = 0
	n := &countingNotifier{}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	a, stop := runAgent(b, cfg, db, n)
	defer stop()
	aors := benchAORs()
	const subs = 100000
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			for i := w; i < subs; i += 64 {
				r := as.SubscribeRequest{
					Dialog: as.Dialog{CallID: fmt.Sprintf("%016x@192.0.2.10", i), RemoteTag: fmt.Sprintf("%08x", i),
						LocalURI: "<" + aors[i%len(aors)] + ">", RemoteURI: "<sip:watcher@example.com>",
						RemoteTarget: "sip:watcher@192.0.2.10:5060;transport=udp", RouteSet: []string{"<sip:scscf.example.com:5060;lr>"},
						Transport: "udp", Source: "192.0.2.10:5060"},
					Resource: aors[i%len(aors)], Watcher: "sip:watcher@example.com", Event: "presence", Expires: 3600,
					ChargingVector: "icid-value=1234bc9876e;icid-generated-at=192.0.6.8",
				}
				res, err := a.Subscribe(ctx, r)
				if err != nil {
					b.Error(err)
					return
				}
				res.Activate()
			}
		})
	}
	wg.Wait()
	for n.count.Load() < subs {
		runtime.Gosched()
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	perSub := float64(after.HeapAlloc-before.HeapAlloc) / subs
	runtime.KeepAlive(a)
	for b.Loop() {
	}
	b.ReportMetric(perSub, "heapB/subscription")
}

type countingNotifier struct{ count atomic.Int64 }

func (c *countingNotifier) Notify(context.Context, as.Notification) error {
	c.count.Add(1)
	return nil
}

type signalNotifier struct{ m sync.Map }

func (s *signalNotifier) Notify(_ context.Context, n as.Notification) error {
	if ch, ok := s.m.LoadAndDelete(n.Dialog.CallID); ok {
		ch.(chan struct{}) <- struct{}{}
	}
	return nil
}
