package isc_test

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/imsps/imsps/isc/isctest"
)

const benchPresentities = 10000

// BenchmarkPublishUDP measures PUBLISH end to end over loopback UDP: a sipgo client, the isc
// server, the agent and a durable bbolt store. Each presentity is published once, then
// modified (SIP-If-Match + body), as PUAs do in steady state.
func BenchmarkPublishUDP(b *testing.B) {
	udp, _ := isctest.Start(b)
	run := func(b *testing.B, ua *isctest.UA, first, count int, next func() bool) {
		etags := make([]string, count)
		for i := 0; next(); i++ {
			k := i % count
			aor := "sip:user" + strconv.Itoa(first+k) + "@example.com"
			hs := []string{"Expires: 3600"}
			if etags[k] != "" {
				hs = append(hs, "SIP-If-Match: "+etags[k])
			}
			res := publish(b, ua, udp, aor, pidf(aor, "t1=open", "d"+strconv.Itoa(i%7)+"=closed"), hs...)
			if res.StatusCode != 200 {
				b.Fatalf("PUBLISH %s: %d %s", aor, res.StatusCode, isctest.Header(res, "Warning"))
			}
			etags[k] = isctest.Header(res, "SIP-ETag")
		}
	}
	b.Run("serial", func(b *testing.B) {
		ua := isctest.NewUA(b, "UDP")
		run(b, ua, 0, benchPresentities, b.Loop)
	})
	b.Run("parallel", func(b *testing.B) {
		var worker atomic.Int64
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			w := int(worker.Add(1))
			ua := isctest.NewUA(b, "UDP")
			per := benchPresentities / 64
			run(b, ua, 20000+w*per, per, pb.Next)
		})
	})
}

// BenchmarkSubscribeNotify measures a new subscription end to end over loopback UDP:
// SUBSCRIBE, 200, and the first NOTIFY received and answered, over distinct presentities.
func BenchmarkSubscribeNotify(b *testing.B) {
	udp, _ := isctest.Start(b)
	run := func(b *testing.B, ua *isctest.UA, tag string, next func() bool) {
		for i := 0; next(); i++ {
			aor := "sip:user" + strconv.Itoa(i%benchPresentities) + "@example.com"
			req := ua.Request(sip.SUBSCRIBE, aor, udp, nil,
				"From: <sip:watcher"+tag+"@example.com>;tag="+tag+strconv.Itoa(i), "To: <"+aor+">",
				fmt.Sprintf("Call-ID: bench-%s-%d", tag, i), "CSeq: 1 SUBSCRIBE", "Contact: <"+ua.Contact("w")+">",
				"Event: presence", "Expires: 3600")
			if res := ua.Do(req); res.StatusCode != 200 {
				b.Fatalf("SUBSCRIBE %s: %d", aor, res.StatusCode)
			}
			ua.NextNotify()
		}
	}
	b.Run("serial", func(b *testing.B) {
		ua := isctest.NewUA(b, "UDP")
		run(b, ua, "s", b.Loop)
	})
	b.Run("parallel", func(b *testing.B) {
		var worker atomic.Int64
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			tag := "p" + strconv.FormatInt(worker.Add(1), 10) + "x"
			ua := isctest.NewUA(b, "UDP")
			run(b, ua, tag, pb.Next)
		})
	})
}
