package sh

import (
	"fmt"
	"testing"
	"time"

	"github.com/imsps/imsps/as"
)

// BenchmarkLookupCached: as.Directory lookups answered from the cache.
func BenchmarkLookupCached(b *testing.B) {
	_, addr := startHSS(b, nil)
	c := startClient(b, testConfig(addr), 1)
	if _, err := c.Lookup(b.Context(), "tel:+15550100"); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := c.Lookup(b.Context(), "tel:+15550100"); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "lookups/s")
}

// BenchmarkLookupUncached: every lookup is a UDR/UDA round trip to the simulator on loopback.
func BenchmarkLookupUncached(b *testing.B) {
	_, addr := startHSS(b, nil)
	cfg := testConfig(addr)
	cfg.CacheTTL = time.Nanosecond
	c := startClient(b, cfg, 1)
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := c.Lookup(b.Context(), as.AOR(fmt.Sprintf("sip:u%d@example.com", n%1000))); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "lookups/s")
}

// BenchmarkLookupUncachedParallel: 64 concurrent lookups in flight, each a UDR.
func BenchmarkLookupUncachedParallel(b *testing.B) {
	_, addr := startHSS(b, nil)
	cfg := testConfig(addr)
	cfg.CacheTTL = time.Nanosecond
	c := startClient(b, cfg, 1)
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := c.Lookup(b.Context(), as.AOR(fmt.Sprintf("sip:p%d@example.com", i%1000))); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}
