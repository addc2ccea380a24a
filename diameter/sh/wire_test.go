package sh

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/internal/pcap"
	"github.com/imsps/imsps/diameter/peer"
)

// TestWireDecodesInTshark records every message of an Sh and a Zh session from the client
// side, writes them as a pcap and has tshark (Debian package tshark) decode it: no
// malformed packet, no expert warning or error, no unknown AVP, every command by name.
func TestWireDecodesInTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Fatal("tshark not installed (apt-get install -y tshark): ", err)
	}
	var buf bytes.Buffer
	rec := pcap.New(&buf, 3868)
	h, addr := startHSS(t, nil)
	cfg := testConfig(addr)
	cfg.Subscribe = true
	cfg.Watchdog = 50 * time.Millisecond
	dwa := newCounter()
	tap := func(out bool, l, r net.Addr, b []byte) { rec.Tap(out, l, r, b); dwa.tap(out, l, r, b) }
	c := startClient(t, cfg, 1, WithTap(tap))
	l := &fakeListener{ch: make(chan stateChange, 10)}
	c.SetUserStateListener(l)
	ctx := t.Context()

	sub, err := c.Lookup(ctx, "tel:+15550100") // UDR/UDA
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe(sub)                                                                                                                                        // SNR/SNA
	if _, err := c.UpdateRepository(ctx, "sip:alice@example.com", []byte(`<presence-settings xmlns="urn:imsps:test">on</presence-settings>`)); err != nil { // PUR/PUA
		t.Fatal(err)
	}
	if err := h.SetUserState(ctx, "sip:alice@example.com", as.NotRegistered); err != nil { // PNR/PNA
		t.Fatal(err)
	}
	<-l.ch
	if _, err := c.Lookup(ctx, "sip:ghost@nowhere.net"); err == nil { // UDA with Experimental-Result
		t.Fatal("ghost exists")
	}
	// Error answers: 5005 with Failed-AVP (a strict HSS), and 3001 with the E bit.
	if _, err := c.do(ctx, c.newRequest(dict.UserData, "sip:alice@example.com")); err == nil {
		t.Fatal("UDR without Data-Reference accepted")
	}
	if _, err := c.do(ctx, c.newRequest(dict.PushNotification, "sip:alice@example.com")); err == nil {
		t.Fatal("PNR to the HSS accepted")
	}
	for dwa.count(0, dict.DeviceWatchdog, 0) == 0 { // DWR/DWA
		select {
		case <-dwa.ch:
		case <-ctx.Done():
			t.Fatal("no DWA")
		}
	}

	// Zh from a BSF: MAR/MAA.
	zd, _ := dict.New(dict.Zh)
	bsf, err := peer.NewClient(peer.ClientOptions{
		Options: peer.Options{Local: peer.Identity{OriginHost: "bsf.example.com", OriginRealm: "example.com"}, Dict: zd, Tap: rec.Tap},
		Peers:   []peer.PeerConfig{{Addr: addr}},
	})
	if err != nil {
		t.Fatal(err)
	}
	go bsf.Run(context.Background())
	m := diam.NewRequest(dict.MultimediaAuth, uint32(dict.Zh), zd)
	m.AddAVP(peer.Base(dict.AVPSessionID, datatype.UTF8String("bsf.example.com;1;1")))
	m.AddAVP(peer.VSAI(dict.Zh))
	m.AddAVP(peer.Base(dict.AVPAuthSessionState, datatype.Enumerated(dict.NoStateMaintained)))
	m.AddAVP(peer.Base(dict.AVPOriginHost, datatype.DiameterIdentity("bsf.example.com")))
	m.AddAVP(peer.Base(dict.AVPOriginRealm, datatype.DiameterIdentity("example.com")))
	m.AddAVP(peer.Base(dict.AVPDestinationRealm, datatype.DiameterIdentity("example.com")))
	m.AddAVP(peer.Base(dict.AVPUserName, datatype.UTF8String("alice@example.com")))
	m.AddAVP(peer.Vendor3GPP(dict.AVPSIPAuthDataItem, true, &diam.GroupedAVP{AVP: []*diam.AVP{
		peer.Vendor3GPP(dict.AVPSIPAuthenticationScheme, true, datatype.UTF8String("Digest-AKAv1-MD5"))}}))
	if a, err := bsf.Request(ctx, m); err != nil || peer.ResultOf(a) != nil {
		t.Fatalf("MAR: %v %v", a, err)
	}
	bsf.Close() // DPR/DPA
	c.Close()

	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "diameter.pcap")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-n", "-r", file, "-V", "-o", "tcp.analyze_sequence_numbers:TRUE").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	summary, err := exec.Command(tshark, "-n", "-r", file).CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, summary)
	}
	t.Logf("tshark summary:\n%s", summary)
	text := string(out)
	for _, bad := range []string{"Malformed", "Unknown AVP", "Unknown-", "[Expert Info (Warning", "[Expert Info (Error", "undecoded", "Undecoded"} {
		if strings.Contains(text, bad) {
			i := strings.Index(text, bad)
			t.Errorf("tshark reports %q:\n%s", bad, text[max(0, i-1500):min(len(text), i+300)])
		}
	}
	for _, name := range []string{"Capabilities-Exchange Request", "Capabilities-Exchange Answer", "Device-Watchdog Request", "Device-Watchdog Answer",
		"User-Data Request", "User-Data Answer", "Profile-Update Request", "Profile-Update Answer",
		"Subscribe-Notifications Request", "Subscribe-Notifications Answer", "Push-Notification Request", "Push-Notification Answer",
		"Multimedia-Auth Request", "Multimedia-Auth Answer", "Disconnect-Peer Request", "Disconnect-Peer Answer"} {
		if !strings.Contains(string(summary), "cmd="+strings.Replace(name, " ", " ", 1)) {
			t.Errorf("tshark did not decode a %s", name)
		}
	}
	for _, avp := range []string{"AVP: User-Identity(700)", "AVP: Data-Reference(703)", "AVP: Sh-User-Data(702)", "AVP: Identity-Set(708)", "AVP: Expiry-Time(709)",
		"AVP: Repository-Data-ID(715)", "AVP: Experimental-Result(297)", "AVP: 3GPP-SIP-Auth-Data-Item(612)", "AVP: GBA-UserSecSettings(400)"} {
		if !strings.Contains(text, avp) {
			t.Errorf("tshark did not decode %s", avp)
		}
	}
	if t.Failed() {
		os.WriteFile(filepath.Join(os.TempDir(), "imsps-diameter-tshark.txt"), out, 0o644)
		t.Logf("full decode in %s", filepath.Join(os.TempDir(), "imsps-diameter-tshark.txt"))
	}
}
