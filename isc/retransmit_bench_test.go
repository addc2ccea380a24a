package isc

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/imsps/imsps/as"
)

// countingPresence accepts every PUBLISH and keeps nothing, so that the heap a benchmark
// measures is the SIP layer's.
type countingPresence struct{ publishes int }

func (c *countingPresence) Packages() []string { return []string{"presence"} }
func (c *countingPresence) Publish(context.Context, as.PublishRequest) (as.PublishResult, error) {
	c.publishes++ // one client, serial: no race
	return as.PublishResult{ETag: "e" + strconv.Itoa(c.publishes), Expires: time.Hour}, nil
}
func (c *countingPresence) Subscribe(context.Context, as.SubscribeRequest) (as.SubscribeResult, error) {
	return as.SubscribeResult{}, as.ErrBadEvent
}

// BenchmarkPublishLiveHeap sends distinct PUBLISH requests over loopback UDP, one at a
// time, and reports the heap still live per request after a GC (live-B/req): what the
// server keeps for each answered request while RFC 3261 §17.2.2 Timer J (32 s) runs.
//
//	go test ./isc -run '^$' -bench PublishLiveHeap -benchmem
func BenchmarkPublishLiveHeap(b *testing.B) {
	cfg := DefaultConfig()
	cfg.UDP, cfg.TCP = "127.0.0.1:0", ""
	log := testLogger(b)
	n, err := NewNotifier(cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(cfg, &countingPresence{}, n, log)
	if err != nil {
		b.Fatal(err)
	}
	udp, _, err := Listen(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(context.Background(), udp, nil)
	b.Cleanup(func() { srv.Close() })

	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	to := udp.LocalAddr()
	body := []byte(pidfBody)
	buf := make([]byte, 65535)
	exchange := func(i int) {
		req := fmt.Sprintf("PUBLISH sip:user%d@example.com SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-heap-%d;rport\r\nMax-Forwards: 70\r\n"+
			"From: <sip:user%d@example.com>;tag=f%d\r\nTo: <sip:user%d@example.com>\r\n"+
			"Call-ID: heap-%d@bench\r\nCSeq: 1 PUBLISH\r\nEvent: presence\r\nExpires: 3600\r\n"+
			"Content-Type: application/pidf+xml\r\nContent-Length: %d\r\n\r\n%s",
			i%10000, conn.LocalAddr(), i, i%10000, i, i%10000, i, len(body), body)
		if _, err := conn.WriteTo([]byte(req), to); err != nil {
			b.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := conn.ReadFrom(buf); err != nil {
			b.Fatalf("request %d: %v", i, err)
		}
	}
	exchange(-1) // the stack is up
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	i := 0
	for b.Loop() {
		exchange(i)
		i++
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	live := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	b.ReportMetric(live/float64(i), "live-B/req")
	b.ReportMetric(float64(after.HeapAlloc)/(1<<20), "live-MiB")
}
