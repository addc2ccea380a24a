package hss_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/wmnsk/milenage"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/hss"
	"github.com/imsps/imsps/diameter/peer"
)

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func start(t *testing.T, opts ...hss.Option) (*hss.HSS, string) {
	t.Helper()
	cfg := hss.DefaultConfig()
	cfg.AdminListen = ""
	h, err := hss.New(cfg, nil, testLog(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { h.Serve(context.Background(), l); close(done) }()
	t.Cleanup(func() { h.Close(); <-done })
	return h, l.Addr().String()
}

// bsf connects like a BSF: base + Zh only.
func bsf(t *testing.T, addr string, tap peer.Tap) *peer.Client {
	t.Helper()
	d, err := dict.New(dict.Zh)
	if err != nil {
		t.Fatal(err)
	}
	c, err := peer.NewClient(peer.ClientOptions{
		Options: peer.Options{Local: peer.Identity{OriginHost: "bsf.example.com", OriginRealm: "example.com"}, Dict: d, Tap: tap, Log: testLog(t)},
		Peers:   []peer.PeerConfig{{Addr: addr}},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { c.Run(context.Background()); close(done) }()
	t.Cleanup(func() { c.Close(); <-done })
	if err := c.WaitConnected(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	return c
}

func mar(c *peer.Client, impi string, item []*diam.AVP, extra ...*diam.AVP) *diam.Message {
	d, _ := dict.New(dict.Zh)
	m := diam.NewRequest(dict.MultimediaAuth, uint32(dict.Zh), d)
	m.AddAVP(peer.Base(dict.AVPSessionID, datatype.UTF8String(peer.NewSessionIDs("bsf.example.com").Next())))
	m.AddAVP(peer.VSAI(dict.Zh))
	m.AddAVP(peer.Base(dict.AVPAuthSessionState, datatype.Enumerated(dict.NoStateMaintained)))
	m.AddAVP(peer.Base(dict.AVPOriginHost, datatype.DiameterIdentity("bsf.example.com")))
	m.AddAVP(peer.Base(dict.AVPOriginRealm, datatype.DiameterIdentity("example.com")))
	m.AddAVP(peer.Base(dict.AVPDestinationRealm, datatype.DiameterIdentity("example.com")))
	if impi != "" {
		m.AddAVP(peer.Base(dict.AVPUserName, datatype.UTF8String(impi)))
	}
	if item != nil {
		m.AddAVP(peer.Vendor3GPP(dict.AVPSIPAuthDataItem, true, &diam.GroupedAVP{AVP: item}))
	}
	for _, a := range extra {
		m.AddAVP(a)
	}
	return m
}

func h2b(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

var (
	testK   = h2b("465b5ce8b199b49faa5f0a2ee238a6bc")
	testOPc = h2b("cd63cb71954a9f4e48a5994e37a02baf")
)

func TestVectorForTS35208TestSet1(t *testing.T) {
	v, err := hss.VectorFor(testK, testOPc, h2b("23553cbe9637a89d218ae64dae47bf35"), 0xff9bb4d0b607, 0xb9b9)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"AUTN", hex.EncodeToString(v.AUTN), "55f328b43577b9b94a9ffac354dfafb3"},
		{"XRES", hex.EncodeToString(v.XRES), "a54211d5e3ba50bf"},
		{"CK", hex.EncodeToString(v.CK), "b40ba9a3c58b2a05bbf0d987b21bf8cb"},
		{"IK", hex.EncodeToString(v.IK), "f769bcd751044604127672711c6d3441"},
	} {
		if c.got != c.want {
			t.Errorf("TS 35.208 test set 1 %s = %s, want %s", c.name, c.got, c.want)
		}
	}
}

type maa struct {
	rand, autn, xres, ck, ik []byte
	guss                     []byte
}

func parseMAA(t *testing.T, a *diam.Message) maa {
	t.Helper()
	if err := peer.ResultOf(a); err != nil {
		t.Fatal(err)
	}
	item := peer.Children(peer.Find(a.AVP, dict.AVPSIPAuthDataItem, dict.Vendor3GPP))
	if s, _ := peer.String(peer.Find(item, dict.AVPSIPAuthenticationScheme, dict.Vendor3GPP)); s != hss.AKAScheme {
		t.Fatalf("scheme %q", s)
	}
	auth, _ := peer.Bytes(peer.Find(item, dict.AVPSIPAuthenticate, dict.Vendor3GPP))
	if len(auth) != 32 {
		t.Fatalf("SIP-Authenticate is %d octets, want RAND‖AUTN", len(auth))
	}
	var m maa
	m.rand, m.autn = auth[:16], auth[16:]
	m.xres, _ = peer.Bytes(peer.Find(item, dict.AVPSIPAuthorization, dict.Vendor3GPP))
	m.ck, _ = peer.Bytes(peer.Find(item, dict.AVPConfidentialityKey, dict.Vendor3GPP))
	m.ik, _ = peer.Bytes(peer.Find(item, dict.AVPIntegrityKey, dict.Vendor3GPP))
	m.guss, _ = peer.Bytes(peer.Find(a.AVP, dict.AVPGBAUserSecSettings, dict.Vendor3GPP))
	return m
}

// checkVector verifies the vector as a UE would, for the expected SQN (AMF 8000 as in subscribers.yaml).
func checkVector(t *testing.T, m maa, sqn uint64) {
	t.Helper()
	want, err := hss.VectorFor(testK, testOPc, m.rand, sqn, 0x8000)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.autn, want.AUTN) || !bytes.Equal(m.xres, want.XRES) || !bytes.Equal(m.ck, want.CK) || !bytes.Equal(m.ik, want.IK) {
		t.Fatalf("vector does not match SQN %x", sqn)
	}
}

func TestZhMultimediaAuth(t *testing.T) {
	_, addr := start(t)
	c := bsf(t, addr, nil)
	ctx := t.Context()
	scheme := []*diam.AVP{peer.Vendor3GPP(dict.AVPSIPAuthenticationScheme, true, datatype.UTF8String(hss.AKAScheme))}

	a, err := c.Request(ctx, mar(c, "alice@example.com", scheme))
	if err != nil {
		t.Fatal(err)
	}
	v := parseMAA(t, a)
	checkVector(t, v, 0xff9bb4d0b607+1)
	if !bytes.Contains(v.guss, []byte(`<uid>sip:alice@example.com</uid>`)) {
		t.Fatalf("TS29.109 §4.2: GUSS missing or wrong: %s", v.guss)
	}

	t.Run("TS29.109 §4.2.1: current GUSS-Timestamp means no GUSS", func(t *testing.T) {
		a, err := c.Request(ctx, mar(c, "alice@example.com", scheme, peer.Vendor3GPP(dict.AVPGUSSTimestamp, false, datatype.Time(time.Now().Add(time.Minute)))))
		if err != nil {
			t.Fatal(err)
		}
		if v := parseMAA(t, a); v.guss != nil {
			t.Fatal("GUSS sent although current")
		}
	})

	t.Run("TS33.102 §6.3.5: resynchronisation with RAND‖AUTS", func(t *testing.T) {
		rnd := h2b("00112233445566778899aabbccddeeff")
		const sqnMS = 0x000000001000
		ue := milenage.NewWithOPc(testK, testOPc, rnd, sqnMS, 0)
		auts, err := ue.GenerateAUTS()
		if err != nil {
			t.Fatal(err)
		}
		item := append(slices.Clone(scheme), peer.Vendor3GPP(dict.AVPSIPAuthorization, true, datatype.OctetString(append(slices.Clone(rnd), auts...))))
		a, err := c.Request(ctx, mar(c, "alice@example.com", item))
		if err != nil {
			t.Fatal(err)
		}
		checkVector(t, parseMAA(t, a), sqnMS+1)
	})

	tests := []struct {
		name string
		req  *diam.Message
		want error
	}{
		{"TS29.109 §6.3: unknown IMPI is 5401", mar(c, "nobody@example.com", scheme), peer.Experimental(dict.ErrorIMPIUnknown)},
		{"RFC6733 §7.1.5: User-Name missing is 5005", mar(c, "", scheme), peer.Result(dict.MissingAVP, "")},
		{"TS33.102 §6.3.5: AUTS with a bad MAC-S is rejected", mar(c, "alice@example.com", append(slices.Clone(scheme),
			peer.Vendor3GPP(dict.AVPSIPAuthorization, true, datatype.OctetString(make([]byte, 30))))), peer.Result(dict.AuthenticationRejected, "")},
		{"TS29.109 §6.3: other schemes are invalid", mar(c, "alice@example.com", []*diam.AVP{
			peer.Vendor3GPP(dict.AVPSIPAuthenticationScheme, true, datatype.UTF8String("SIP Digest"))}), peer.Result(dict.InvalidAVPValue, "")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := c.Request(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if err := peer.ResultOf(a); !errors.Is(err, tc.want) {
				t.Fatalf("result %v, want %v", err, tc.want)
			}
		})
	}
}

// RFC 6733 §5.3: the HSS advertises exactly Sh and Zh; a BSF shares Zh only with it.
func TestCapabilitiesExchange(t *testing.T) {
	var mu sync.Mutex
	var cea []byte
	_, addr := start(t)
	c := bsf(t, addr, func(out bool, _, _ net.Addr, b []byte) {
		if !out && b[7] == 1 && b[6] == 1 && b[5] == 0 && b[4]&diam.RequestFlag == 0 { // 257 answer
			mu.Lock()
			cea = slices.Clone(b)
			mu.Unlock()
		}
	})
	_ = c
	mu.Lock()
	defer mu.Unlock()
	d, _ := dict.New(dict.Sh, dict.Zh)
	m, err := diam.ReadMessage(bytes.NewReader(cea), d)
	if err != nil {
		t.Fatal(err)
	}
	var apps []uint32
	for _, v := range peer.FindAll(m.AVP, dict.AVPVendorSpecificApplicationID, 0) {
		id, _ := peer.Uint32(peer.Find(peer.Children(v), dict.AVPAuthApplicationID, 0))
		vendor, _ := peer.Uint32(peer.Find(peer.Children(v), dict.AVPVendorID, 0))
		if vendor != dict.Vendor3GPP {
			t.Fatalf("Vendor-Id %d in VSAI", vendor)
		}
		apps = append(apps, id)
	}
	if !slices.Equal(apps, []uint32{uint32(dict.Sh), uint32(dict.Zh)}) {
		t.Fatalf("CEA advertises %v", apps)
	}
	if peer.Find(m.AVP, dict.AVPHostIPAddress, 0) == nil || peer.Find(m.AVP, dict.AVPOriginStateID, 0) == nil {
		t.Fatal("CEA without Host-IP-Address or Origin-State-Id")
	}
}

func TestAdminSetsState(t *testing.T) {
	h, _ := start(t)
	srv := httptest.NewServer(h.AdminHandler())
	defer srv.Close()
	tests := []struct {
		name, path, body string
		code             int
	}{
		{"plain state", "/subscribers/sip:alice@example.com/state", "NOT_REGISTERED", http.StatusNoContent},
		{"JSON state", "/subscribers/tel:+15550100/state", `{"state":"REGISTERED_UNREG_SERVICES"}`, http.StatusNoContent},
		{"bad state", "/subscribers/sip:alice@example.com/state", "ASLEEP", http.StatusBadRequest},
		{"unknown user", "/subscribers/sip:x@other.net/state", "REGISTERED", http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+tc.path, "text/plain", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.code)
			}
		})
	}
	if st, _ := h.UserState("sip:alice@example.com"); st != as.RegisteredUnregServices {
		t.Fatalf("state %v", st)
	}
	resp, err := http.Get(srv.URL + "/subscribers/sip:alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(b, []byte(`"state":"REGISTERED_UNREG_SERVICES"`)) || !bytes.Contains(b, []byte(`tel:+15550100`)) {
		t.Fatalf("GET: %s", b)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*hss.Config)
		want string
	}{
		{"defaults", func(*hss.Config) {}, ""},
		{"listen", func(c *hss.Config) { c.Listen = "nope" }, "hss.listen"},
		{"admin", func(c *hss.Config) { c.AdminListen = "x" }, "hss.admin_listen"},
		{"origin host", func(c *hss.Config) { c.OriginHost = "" }, "hss.origin_host"},
		{"domain", func(c *hss.Config) { c.OpenProvisioningDomains = []string{"a b"} }, "hss.open_provisioning_domains[0]"},
		{"state", func(c *hss.Config) { c.OpenProvisioningState = "x" }, "hss.open_provisioning_state"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := hss.DefaultConfig()
			tc.mod(&cfg)
			err := cfg.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
				t.Fatalf("err = %v, want prefix %q", err, tc.want)
			}
		})
	}
}
