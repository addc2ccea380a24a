package main

import (
	"log/slog"
	"os"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/gin-gonic/gin"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode) // as main does: no route dump on every start
	// The conformance agents of these tests close their sockets often; sipgo's package
	// logger warns about each close.
	sip.SetDefaultLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	os.Exit(m.Run())
}
