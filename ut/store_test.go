package ut_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/imsps/imsps/as/store"
	"github.com/imsps/imsps/ut"
)

// TestServeOnBbolt runs Serve on a listener with the bbolt store: a document survives a
// restart with its ETag, and concurrent conditional writes have one winner.
func TestServeOnBbolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imsps.db")
	run := func(fn func(base string)) {
		st, err := store.Open(path, store.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		srv, err := ut.New(testConfig(), st, []ut.AppUsage{&listUsage{}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, l) }()
		fn("http://" + l.Addr().String() + "/xcap-root")
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Serve: %v", err)
		}
		srv.Close()
	}
	send := func(method, url, ctype, ifMatch, body string) (int, string) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("X-3GPP-Asserted-Identity", `"`+alice+`"`)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		_, _ = io.Copy(io.Discard, res.Body)
		return res.StatusCode, res.Header.Get("ETag")
	}
	var etag string
	run(func(base string) {
		var st int
		if st, etag = send("PUT", base+aliceDoc, rlType, "", insertDoc); st != 201 {
			t.Fatalf("PUT %d", st)
		}
	})
	run(func(base string) {
		if st, got := send("GET", base+aliceDoc, "", "", ""); st != 200 || got != etag {
			t.Fatalf("RFC4825 §8.5: after restart %d %q, want 200 %q", st, got, etag)
		}
		const n = 16
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			wg.Go(func() {
				codes[i], _ = send("PUT", base+aliceDoc+"/~~/root/el2/@att", attType, etag, "v"+string(rune('a'+i)))
			})
		}
		wg.Wait()
		wins := 0
		for _, c := range codes {
			if c == 200 {
				wins++
			} else if c != 412 {
				t.Fatalf("status %d", c)
			}
		}
		if wins != 1 {
			t.Fatalf("RFC4825 §7.11: %d winners %v", wins, codes)
		}
	})
}
