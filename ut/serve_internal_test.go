package ut

import (
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/imsps/imsps/as/store"
)

// TestServeBoundsRequestReads: the XCAP HTTP server bounds the time to read a whole request
// (a body that stops half way held its connection and goroutine for ever, even after a 401,
// since net/http drains the body) besides the header and idle timeouts.
func TestServeBoundsRequestReads(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := New(DefaultConfig(), st, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(t.Context(), l) }()
	defer func() { s.Close(); <-done }()
	res, err := http.Get("http://" + l.Addr().String() + "/") // answered once Serve runs
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	s.mu.Lock()
	srv := s.servers[0]
	s.mu.Unlock()
	if srv.ReadTimeout < srv.ReadHeaderTimeout || srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 || srv.ReadHeaderTimeout <= 0 {
		t.Fatalf("ReadHeaderTimeout %v, ReadTimeout %v, IdleTimeout %v: all must be set",
			srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout)
	}
}
