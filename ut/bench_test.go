package ut_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/imsps/imsps/as/store"
	"github.com/imsps/imsps/ut"
	"github.com/imsps/imsps/ut/uttest"
)

// Benchmarks: a loopback HTTP load generator (workers goroutines with keep-alive) against
// the server on the bbolt store (durable: fsync on every group commit). ns/op is wall time
// per request, so req/s = 1e9 / ns/op, also reported as the req/s metric.
//
//	go test ./ut -run '^$' -bench . -benchtime 3s

const benchWorkers = 32

func list20() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">` + "\n")
	b.WriteString(`  <list name="friends">` + "\n")
	for i := range 20 {
		fmt.Fprintf(&b, "    <entry uri=\"sip:user%d@example.com\">\n      <display-name>User %d</display-name>\n    </entry>\n", i, i)
	}
	b.WriteString("  </list>\n</resource-lists>\n")
	return b.String()
}

func benchServer(b *testing.B) *uttest.Server {
	st, err := store.Open(filepath.Join(b.TempDir(), "imsps.db"), store.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	cfg := testConfig()
	cfg.MaxDocumentsPerUser = 1 << 20
	return uttest.Start(b, cfg, st, []ut.AppUsage{&listUsage{}})
}

type benchReq struct {
	method, path, ctype, body, who string
	want                           int
}

// load runs b.Loop over a pool of workers, each with its own keep-alive TCP connection
// writing HTTP/1.1 requests and reading the responses (a lean load generator, so that the
// two share the CPU with as little client overhead as possible); next gives the request
// for iteration i.
func load(b *testing.B, srv *uttest.Server, next func(i int) benchReq) {
	addr := strings.TrimPrefix(srv.HTTP.URL, "http://")
	prefix := strings.TrimPrefix(srv.Root, srv.HTTP.URL)
	work := make(chan benchReq, benchWorkers)
	var wg sync.WaitGroup
	var failed sync.Once
	for range benchWorkers {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			defer conn.Close()
			br := bufio.NewReader(conn)
			bw := bufio.NewWriter(conn)
			for r := range work {
				fmt.Fprintf(bw, "%s %s%s HTTP/1.1\r\nHost: %s\r\nX-3GPP-Asserted-Identity: \"%s\"\r\n", r.method, prefix, r.path, addr, r.who)
				if r.ctype != "" {
					fmt.Fprintf(bw, "Content-Type: %s\r\n", r.ctype)
				}
				fmt.Fprintf(bw, "Content-Length: %d\r\n\r\n%s", len(r.body), r.body)
				if err := bw.Flush(); err != nil {
					failed.Do(func() { b.Error(err) })
					return
				}
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					failed.Do(func() { b.Error(err) })
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != r.want {
					failed.Do(func() { b.Errorf("%s %s: %d, want %d", r.method, r.path, res.StatusCode, r.want) })
				}
			}
		})
	}
	i := 0
	for b.Loop() {
		work <- next(i)
		i++
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "req/s")
}

func user(i int) string { return fmt.Sprintf("sip:bench%d@example.com", i%benchWorkers) }
func docOf(i int) string {
	return "/resource-lists/users/" + user(i) + "/index"
}

func seed(b *testing.B, srv *uttest.Server) {
	doc := list20()
	for i := range benchWorkers {
		rec := serveDirect(srv.AssertedHandler(), "PUT", "/xcap-root"+docOf(i), user(i), rlType, doc, nil)
		if rec.Code != 201 {
			b.Fatalf("seed: %d %s", rec.Code, rec.Body.String())
		}
	}
}

func BenchmarkGETDocument(b *testing.B) {
	srv := benchServer(b)
	seed(b, srv)
	load(b, srv, func(i int) benchReq {
		return benchReq{method: "GET", path: docOf(i), who: user(i), want: 200}
	})
}

func BenchmarkGETElement(b *testing.B) {
	srv := benchServer(b)
	seed(b, srv)
	load(b, srv, func(i int) benchReq {
		return benchReq{method: "GET", path: docOf(i) + fmt.Sprintf(`/~~/resource-lists/list[@name="friends"]/entry[@uri="sip:user%d@example.com"]`, i%20),
			who: user(i), want: 200}
	})
}

func BenchmarkPUTDocument(b *testing.B) {
	srv := benchServer(b)
	seed(b, srv)
	doc := list20()
	load(b, srv, func(i int) benchReq {
		return benchReq{method: "PUT", path: docOf(i), who: user(i), ctype: rlType, body: doc, want: 200}
	})
}

func BenchmarkPUTElement(b *testing.B) {
	srv := benchServer(b)
	seed(b, srv)
	load(b, srv, func(i int) benchReq {
		n := i % 20
		return benchReq{method: "PUT", path: docOf(i) + fmt.Sprintf(`/~~/resource-lists/list[@name="friends"]/entry[@uri="sip:user%d@example.com"]`, n),
			who: user(i), ctype: elType, want: 200,
			body: fmt.Sprintf("<entry uri=\"sip:user%d@example.com\">\n      <display-name>User %d v%d</display-name>\n    </entry>", n, n, i)}
	})
}

// The handler alone (no network, no client), one request at a time: server CPU per request.
func BenchmarkHandler(b *testing.B) {
	srv := benchServer(b)
	seed(b, srv)
	h := srv.Handler()
	el := `/~~/resource-lists/list[@name="friends"]/entry[@uri="sip:user7@example.com"]`
	for _, tc := range []struct{ name, method, path, ctype, body string }{
		{"GETDocument", "GET", docOf(0), "", ""},
		{"GETElement", "GET", docOf(0) + el, "", ""},
		{"PUTElement", "PUT", docOf(0) + el, elType, "<entry uri=\"sip:user7@example.com\"/>"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				rec := serveDirect(h, tc.method, "/xcap-root"+tc.path, user(0), tc.ctype, tc.body, nil)
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body.String())
				}
			}
		})
	}
}
