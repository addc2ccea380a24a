package as_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/as/store"
)

const benchPresentities = 10000

// benchStore opens the bbolt store with store.DefaultOptions (fsync on every commit);
// NOSYNC=1 skips fsync (CPU-bound figures).
func benchStore(b *testing.B) *store.DB {
	opts := store.DefaultOptions()
	opts.NoSync = os.Getenv("NOSYNC") != ""
	db, err := store.Open(filepath.Join(b.TempDir(), "imsps.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	return db
}

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
	db := benchStore(b)
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
	lat := &latencies{}
	const workers = 256 // concurrent transactions, as a SIP server under load has
	b.SetParallelism(workers / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := int(next.Add(1) - 1)
		etags := map[int]string{}
		i := g
		ctx := context.Background()
		var mine []time.Duration
		defer func() { lat.add(mine) }()
		for pb.Next() {
			k := i % len(aors)
			t0 := time.Now()
			res, err := a.Publish(ctx, as.PublishRequest{Presentity: aors[k], Publisher: aors[k], Event: "presence",
				IfMatch: etags[k], Expires: -1, ContentType: pidfT, Body: bodies[k]})
			if err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
			etags[k] = res.ETag
			i += workers
			if i >= len(aors)*4 {
				i = g
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publish/s")
	b.ReportMetric(lat.p99().Seconds()*1000, "p99-ms")
}

// BenchmarkSubscribeNotify: durable SUBSCRIBE (committed before the 200) followed by its
// first NOTIFY (through the worker pool to the Notifier), over 10,000 presentities that
// each have a publication.
func BenchmarkSubscribeNotify(b *testing.B) {
	db := benchStore(b)
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
	lat := &latencies{}
	b.SetParallelism(256 / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		done := make(chan struct{}, 1)
		var mine []time.Duration
		defer func() { lat.add(mine) }()
		for pb.Next() {
			t0 := time.Now()
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
			mine = append(mine, time.Since(t0))
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "subscribe+notify/s")
	b.ReportMetric(lat.p99().Seconds()*1000, "p99-ms")
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

// latencies collects per-operation durations from parallel benchmark goroutines.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d...)
	l.mu.Unlock()
}

func (l *latencies) p99() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.all) == 0 {
		return 0
	}
	slices.Sort(l.all)
	return l.all[len(l.all)*99/100]
}

// BenchmarkPublishAt8000 offers durable PUBLISHes open-loop at 8,000/s (paced every
// millisecond, as SIPp does) over 10,000 presentities and reports the p99 latency; ns/op is
// the pacing (125 µs) unless the agent falls behind.
func BenchmarkPublishAt8000(b *testing.B) {
	db := benchStore(b)
	defer db.Close()
	a, stop := runAgent(b, as.DefaultConfig(), db, &countingNotifier{})
	defer stop()
	aors := benchAORs()
	bodies := make([][]byte, len(aors))
	for i, aor := range aors {
		bodies[i] = pidfDoc(aor, "mobile", "open")
	}
	// one initial publication per presentity; the load then modifies them
	etags := make([]string, len(aors))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			for i := w; i < len(aors); i += 64 {
				res, err := a.Publish(context.Background(), as.PublishRequest{Presentity: aors[i], Publisher: aors[i],
					Event: "presence", Expires: -1, ContentType: pidfT, Body: bodies[i]})
				if err != nil {
					b.Error(err)
					return
				}
				etags[i] = res.ETag
			}
		})
	}
	wg.Wait()
	locks := make([]sync.Mutex, len(aors)) // one PUBLISH in flight per publication, as RFC 3903 §4 asks of an EPA
	lat := &latencies{}
	var failed atomic.Int64
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < b.N; {
		<-tick.C
		due := min(int(time.Since(start).Seconds()*8000), b.N)
		for sent < due {
			k := sent % len(aors)
			sent++
			wg.Go(func() {
				locks[k].Lock()
				defer locks[k].Unlock()
				t0 := time.Now()
				mu.Lock()
				etag := etags[k]
				mu.Unlock()
				res, err := a.Publish(context.Background(), as.PublishRequest{Presentity: aors[k], Publisher: aors[k],
					Event: "presence", IfMatch: etag, Expires: -1, ContentType: pidfT, Body: bodies[k]})
				if err != nil {
					failed.Add(1)
					return
				}
				lat.add([]time.Duration{time.Since(t0)})
				mu.Lock()
				etags[k] = res.ETag
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(lat.p99().Seconds()*1000, "p99-ms")
	b.ReportMetric(float64(failed.Load()), "failed")
}

// BenchmarkSubscribeAt4000 offers durable initial SUBSCRIBEs open-loop at 4,000/s (paced
// every millisecond) over 10,000 presentities that each have one publication, and reports
// the p99 latency of Subscribe (the 200's wait); the first NOTIFY follows Activate.
func BenchmarkSubscribeAt4000(b *testing.B) {
	db := benchStore(b)
	defer db.Close()
	cfg := as.DefaultConfig()
	a, stop := runAgent(b, cfg, db, &countingNotifier{})
	defer stop()
	aors := benchAORs()
	ctx := context.Background()
	for i, aor := range aors {
		if _, err := a.Publish(ctx, as.PublishRequest{Presentity: aor, Publisher: aor, Event: "presence",
			Expires: -1, ContentType: pidfT, Body: pidfDoc(aor, "t", "open")}); err != nil {
			b.Fatal(i, err)
		}
	}
	lat := &latencies{}
	var failed atomic.Int64
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < b.N; {
		<-tick.C
		due := min(int(time.Since(start).Seconds()*4000), b.N)
		for sent < due {
			i := sent
			sent++
			wg.Go(func() {
				aor := aors[i%len(aors)]
				r := as.SubscribeRequest{
					Dialog: as.Dialog{CallID: fmt.Sprintf("%d@192.0.2.10", i), RemoteTag: fmt.Sprintf("%08x", i),
						LocalURI: "<" + aor + ">", RemoteURI: "<sip:watcher@example.com>",
						RemoteTarget: "sip:watcher@192.0.2.10:5060;transport=udp", Transport: "udp", Source: "192.0.2.10:5060"},
					Resource: aor, Watcher: "sip:watcher@example.com", Event: "presence", Expires: 600,
				}
				t0 := time.Now()
				res, err := a.Subscribe(ctx, r)
				if err != nil {
					failed.Add(1)
					return
				}
				lat.add([]time.Duration{time.Since(t0)})
				res.Activate()
			})
		}
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(failed.Load()), "failed")
	b.ReportMetric(lat.p99().Seconds()*1000, "p99-ms")
}
