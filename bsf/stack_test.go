package bsf_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imsps/imsps/as/store"
	"github.com/imsps/imsps/bsf"
	"github.com/imsps/imsps/bsf/bsftest"
	"github.com/imsps/imsps/configs"
	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/hss"
	"github.com/imsps/imsps/diameter/peer"
)

// startZhHSS runs the HSS simulator (diameter/hss) on 127.0.0.1:0; Zh MAR is what bsf uses.
func startZhHSS(t *testing.T, subs *configs.Subscribers, tap peer.Tap) string {
	t.Helper()
	cfg := hss.DefaultConfig()
	cfg.AdminListen = ""
	h, err := hss.New(cfg, subs, testLogger(t), hss.WithTap(tap))
	if err != nil {
		t.Fatal(err)
	}
	l := listen(t)
	serve(t, func(ctx context.Context) { h.Serve(ctx, l) })
	return l.Addr().String()
}

// serve runs fn until the test ends.
func serve(t *testing.T, fn func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); fn(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// TestDiameterStack runs the whole GBA path over real Diameter connections: the BSF gets
// vectors over Zh, the proxy gets Ks_NAF over Zn; then tshark decodes every captured
// message (CER/CEA, DWR, MAR/MAA with resync, BIR/BIA with 5403).
func TestDiameterStack(t *testing.T) {
	subs, err := configs.LoadSubscribers("")
	if err != nil {
		t.Fatal(err)
	}
	log := testLogger(t)
	capture := &bsftest.Capture{}
	ctx := t.Context()

	cfg := bsf.DefaultConfig()
	cfg.Vectors = "zh"
	cfg.Zh.Address = startZhHSS(t, subs, nil)
	zhPeer, err := bsf.NewPeerClient(cfg.Zh, dict.Zh, capture.Tap, log)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, func(ctx context.Context) { zhPeer.Run(ctx) })
	zh, err := bsf.NewZhClient(cfg.Zh, zhPeer)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "imsps.db"), store.Options{Timeout: time.Second, NoSync: true, BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b, err := bsf.New(cfg, zh, db, log)
	if err != nil {
		t.Fatal(err)
	}
	zn, err := bsf.NewZnServer(cfg.Zn, b, log)
	if err != nil {
		t.Fatal(err)
	}
	znSrv, err := bsf.NewZnPeerServer(cfg.Zn, zn, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	znL := listen(t)
	serve(t, func(ctx context.Context) { znSrv.Serve(ctx, znL) })

	pcfg := bsf.DefaultAuthProxyConfig()
	pcfg.Keys = "zn"
	pcfg.Zn.Address = znL.Addr().String()
	znPeer, err := bsf.NewPeerClient(pcfg.Zn, dict.Zn, capture.Tap, log)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, func(ctx context.Context) { znPeer.Run(ctx) })
	zc, err := bsf.NewZnClient(pcfg.Zn, znPeer)
	if err != nil {
		t.Fatal(err)
	}
	sd, _ := bsf.NewSubscriberData(subs)
	rec := newRecorder()
	proxy, err := bsf.NewAuthProxy(pcfg, zc, sd, rec, log)
	if err != nil {
		t.Fatal(err)
	}
	ubL, pL := listen(t), listen(t)
	serve(t, func(ctx context.Context) { b.Serve(ctx, ubL) })
	serve(t, func(ctx context.Context) { proxy.Serve(ctx, pL) })

	ue := bsftest.NewUE("alice@example.com", demoK, demoOPc)
	ue.SetSQN(0xfffffffff000) // forces a resync MAR (RAND ‖ AUTS)
	if err := ue.Bootstrap(ctx, "http://"+ubL.Addr().String()+"/"); err != nil {
		t.Fatalf("TS 29.109 §6.1: bootstrap with Zh vectors: %v", err)
	}
	if ue.Resyncs() != 1 {
		t.Errorf("resyncs %d, want 1", ue.Resyncs())
	}
	url := "http://" + pL.Addr().String() + alicePIDF
	resp, _ := do(t, ue, http.MethodPut, url, []byte(pidfDoc), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("TS 29.109 §6.2: PUT with Ks_NAF over Zn: %s", resp.Status)
	}
	resp, body := do(t, ue, http.MethodGet, url, nil, nil)
	if resp.StatusCode != http.StatusOK || string(body) != pidfDoc {
		t.Fatalf("GET back: %s", resp.Status)
	}
	if _, err := zc.NAFKey(ctx, "AAAAAAAAAAAAAAAAAAAAAA==@bsf.example.com", bsf.NAFID("127.0.0.1", bsf.UaHTTPDigest)); !errors.Is(err, bsf.ErrBTIDUnknown) {
		t.Errorf("TS 29.109 §6.3: unknown B-TID over Zn: %v", err)
	}
	if _, _, err := zh.AuthVector(ctx, "mallory@example.com", nil); !errors.Is(err, bsf.ErrUnknownIMPI) {
		t.Errorf("TS 29.109 §6.3: unknown IMPI over Zh: %v", err)
	}

	text, problems, err := capture.Tshark(t.TempDir(), "zh-zn.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("tshark reports %v:\n%s", problems, text)
	}
	for _, want := range []string{
		"Capabilities-Exchange", "Multimedia-Auth", "SIP-Auth-Data-Item", "Confidentiality-Key", "GBA-UserSecSettings",
		// Wireshark names 310 "Boostrapping-Info" and 402 "NAF-Hostname": match the codes.
		"Command Code: Boo", "(310)", "Transaction-Identifier(401)", "(402)", "ME-Key-Material(405)", "Key-ExpiryTime(404)",
		"BootstrapInfoCreationTime(408)", "DIAMETER_ERROR_TRANSACTION_IDENTIFIER_INVALID (5403)", "DIAMETER_ERROR_IMPI_UNKNOWN (5401)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("tshark output lacks %q", want)
		}
	}
	t.Logf("tshark decoded %d Diameter messages", capture.Len())
}
