package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/imsps/imsps/conformance"
)

// testConfig is the default profile on random loopback ports and a fresh data directory.
func testConfig(t testing.TB) Config {
	cfg := DefaultConfig()
	cfg.Data = t.TempDir()
	cfg.SIP.UDP = "127.0.0.1:0"
	cfg.SIP.TCP = "127.0.0.1:0"
	cfg.XCAP.Listen = "127.0.0.1:0"
	cfg.Metrics.Listen = "127.0.0.1:0"
	cfg.BSF.Listen = "127.0.0.1:0"
	cfg.BSF.Zn.Address = "127.0.0.1:0"
	cfg.AuthProxy.Listen = "127.0.0.1:0"
	cfg.HSS.Listen = "127.0.0.1:0"
	cfg.HSS.AdminListen = "127.0.0.1:0"
	cfg.Sh.Peers[0].Addr = cfg.HSS.Listen
	cfg.BSF.Zh.Address = cfg.HSS.Listen
	return cfg
}

// startStack runs imsps serve in-process until the test ends.
func startStack(t testing.TB, cfg Config) *stack {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := start(cfg, roleServe, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return s
}

func TestConformanceSIPFlows(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			s := startStack(t, testConfig(t))
			rep := conformance.Run(t.Context(), conformance.Target{
				SIP: s.addr["sip."+transport].String(), Transport: transport, Domain: "example.com",
			}, conformance.SIPFlows())
			var b strings.Builder
			rep.WriteText(&b)
			if _, failed := rep.Counts(); failed > 0 {
				t.Fatalf("conformance failures:\n%s", b.String())
			}
			t.Log(b.String())
		})
	}
}

func TestStartFailsClearlyWhenPortInUse(t *testing.T) {
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := testConfig(t)
	cfg.SIP.UDP = busy.LocalAddr().String()
	s, err := start(cfg, roleServe, slog.New(slog.DiscardHandler))
	if err == nil {
		s.close()
		t.Fatal("start succeeded on a port in use")
	}
	if !strings.Contains(err.Error(), "sip.udp") || !strings.Contains(err.Error(), busy.LocalAddr().String()) {
		t.Fatalf("error %q does not name the listener and address", err)
	}
	// Nothing stays bound or locked: a second start on the same data directory works.
	cfg.SIP.UDP = "127.0.0.1:0"
	s, err = start(cfg, roleServe, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start after a failed start: %v", err)
	}
	s.close()
}

// The TS 24.141 Annex A flows over HTTP, as alice with HTTP Digest, including the NOTIFY a
// pidf-manipulation write sends to a SIP watcher: XCAP and SIP meet in the presence core.
func TestConformanceXCAPFlows(t *testing.T) {
	s := startStack(t, testConfig(t))
	rep := conformance.Run(t.Context(), conformance.Target{
		SIP: s.addr["sip.udp"].String(), Domain: "example.com",
		XCAPRoot: "http://" + s.addr["xcap.listen"].String() + "/xcap-root",
		XCAPUser: "alice@example.com", XCAPPassword: "alice", XUI: "sip:alice@example.com",
	}, conformance.XCAPFlows())
	var b strings.Builder
	rep.WriteText(&b)
	if _, failed := rep.Counts(); failed > 0 {
		t.Fatalf("conformance failures:\n%s", b.String())
	}
	t.Log(b.String())
}

func TestMetricsCountPresence(t *testing.T) {
	s := startStack(t, testConfig(t))
	rep := conformance.Run(t.Context(), conformance.Target{SIP: s.addr["sip.udp"].String(), Domain: "example.com"}, conformance.SIPFlows()[:1])
	if _, failed := rep.Counts(); failed > 0 {
		t.Fatal("seed flow failed")
	}
	res, err := http.Get("http://" + s.addr["metrics.listen"].String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, want := range []string{
		`imsps_sip_requests_total{method="PUBLISH",outcome="ok"} 3`,
		`imsps_sip_requests_total{method="SUBSCRIBE",outcome="ok"} 2`,
		"imsps_publications 2", "imsps_subscriptions 2",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
