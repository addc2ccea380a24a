// Package uttest starts the XCAP server in-process for tests, with an in-memory store.
//
// It is for tests of ut and of packages that talk XCAP to it (conformance, bsf's NAF).
package uttest

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/as/astest"
	"github.com/imsps/imsps/ut"
)

// Server is a running XCAP server.
type Server struct {
	*ut.Server
	HTTP *httptest.Server
	// Root is the XCAP root URL, e.g. http://127.0.0.1:41234/xcap-root.
	Root  string
	Store as.Store
}

// Start runs ut.New(cfg, st, usages) behind httptest on 127.0.0.1 (st nil: a new
// in-memory store from as/astest). The server stops when the test ends.
func Start(tb testing.TB, cfg ut.Config, st as.Store, usages []ut.AppUsage) *Server {
	tb.Helper()
	if st == nil {
		st = astest.NewStore()
	}
	log := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := ut.New(cfg, st, usages, log)
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	tb.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return &Server{Server: srv, HTTP: hs, Root: hs.URL + strings.TrimSuffix(cfg.Root, "/"), Store: st}
}
