package bsf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	gdict "github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/imsps/imsps/as/astest"
	"github.com/imsps/imsps/configs"
	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
)

// wire is a Requester that puts each request and answer through bytes, as a connection
// would, hands the decoded request to a handler, and keeps the bytes for a capture.
type wire struct {
	clientDict, serverDict *gdict.Parser
	handler                func(ctx context.Context, req *diam.Message) (*diam.Message, error)

	mu  sync.Mutex
	raw [][]byte // request, answer, request, answer, …
}

func (w *wire) Request(ctx context.Context, m *diam.Message) (*diam.Message, error) {
	b, err := m.Serialize()
	if err != nil {
		return nil, err
	}
	req, err := diam.ReadMessage(bytes.NewReader(b), w.serverDict)
	if err != nil {
		return nil, fmt.Errorf("server decode: %w", err)
	}
	a, err := w.handler(ctx, req)
	if err != nil {
		return nil, err
	}
	ab, err := a.Serialize()
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.raw = append(w.raw, b, ab)
	w.mu.Unlock()
	return diam.ReadMessage(bytes.NewReader(ab), w.clientDict)
}

// fakeHSS answers Zh MARs from LocalVectors, the way the HSS simulator does.
func fakeHSS(_ testing.TB, lv *LocalVectors) func(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	hss := DiameterPeer{OriginHost: "hss.example.com", OriginRealm: "example.com"}
	return func(ctx context.Context, req *diam.Message) (*diam.Message, error) {
		a := diam.NewMessage(req.Header.CommandCode, req.Header.CommandFlags&^diam.RequestFlag, req.Header.ApplicationID, req.Header.HopByHopID, req.Header.EndToEndID, req.Dictionary())
		a.AddAVP(peer.Find(req.AVP, dict.AVPSessionID, 0))
		a.AddAVP(peer.VSAI(dict.Zh))
		impi := string(octets(peer.Find(req.AVP, dict.AVPUserName, 0)))
		var resync *Resync
		if ra := octets(peer.Find(peer.Children(peer.Find(req.AVP, dict.AVPSIPAuthDataItem, dict.Vendor3GPP)), dict.AVPSIPAuthorization, dict.Vendor3GPP)); len(ra) == 30 {
			resync = &Resync{RAND: ra[:16], AUTS: ra[16:]}
		}
		v, guss, err := lv.AuthVector(ctx, impi, resync)
		switch {
		case errors.Is(err, ErrUnknownIMPI):
			a.AddAVP(peer.Base(dict.AVPExperimentalResult, &diam.GroupedAVP{AVP: []*diam.AVP{
				peer.Base(dict.AVPVendorID, datatype.Unsigned32(dict.Vendor3GPP)),
				peer.Base(dict.AVPExperimentalResultCode, datatype.Unsigned32(dict.ErrorIMPIUnknown.Code)),
			}}))
		case err != nil:
			a.AddAVP(peer.Base(dict.AVPResultCode, datatype.Unsigned32(dict.AuthenticationRejected)))
		default:
			a.AddAVP(peer.Base(dict.AVPResultCode, datatype.Unsigned32(dict.Success)))
		}
		a.AddAVP(peer.Base(dict.AVPAuthSessionState, datatype.Enumerated(dict.NoStateMaintained)))
		hss.addOrigin(a)
		if err == nil {
			a.AddAVP(peer.Base(dict.AVPUserName, datatype.UTF8String(impi)))
			a.AddAVP(peer.Vendor3GPP(dict.AVPSIPNumberAuthItems, true, datatype.Unsigned32(1)))
			a.AddAVP(peer.Vendor3GPP(dict.AVPSIPAuthDataItem, true, &diam.GroupedAVP{AVP: []*diam.AVP{
				peer.Vendor3GPP(dict.AVPSIPAuthenticationScheme, true, datatype.UTF8String(SchemeDigestAKAv1)),
				peer.Vendor3GPP(dict.AVPSIPAuthenticate, true, datatype.OctetString(append(append([]byte{}, v.RAND...), v.AUTN...))),
				peer.Vendor3GPP(dict.AVPSIPAuthorization, true, datatype.OctetString(v.XRES)),
				peer.Vendor3GPP(dict.AVPConfidentialityKey, true, datatype.OctetString(v.CK)),
				peer.Vendor3GPP(dict.AVPIntegrityKey, true, datatype.OctetString(v.IK)),
			}}))
			g, _ := MarshalGUSS(guss)
			a.AddAVP(peer.Vendor3GPP(dict.AVPGBAUserSecSettings, true, datatype.OctetString(g)))
		}
		return a, nil
	}
}

func localVectors(t testing.TB) *LocalVectors {
	subs, err := configs.LoadSubscribers("")
	if err != nil {
		t.Fatal(err)
	}
	lv, err := NewLocalVectors(subs)
	if err != nil {
		t.Fatal(err)
	}
	return lv
}

func mustParser(t testing.TB, apps ...dict.App) *gdict.Parser {
	p, err := dict.New(apps...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestZhClient(t *testing.T) {
	lv := localVectors(t)
	w := &wire{clientDict: mustParser(t, dict.Zh), serverDict: mustParser(t, dict.Zh), handler: fakeHSS(t, lv)}
	cfg := DefaultConfig().Zh
	zh, err := NewZhClient(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	v, guss, err := zh.AuthVector(ctx, "alice@example.com", nil)
	if err != nil {
		t.Fatalf("TS 29.109 §6.1: MAR/MAA: %v", err)
	}
	if len(v.RAND) != 16 || len(v.AUTN) != 16 || len(v.XRES) != 8 || len(v.CK) != 16 || len(v.IK) != 16 {
		t.Errorf("TS 29.109 §6.1.2: vector %+v", v)
	}
	if ids := guss.Identities(); len(ids) != 2 || ids[0] != "sip:alice@example.com" {
		t.Errorf("TS 29.109 Annex A: GUSS uids %v", ids)
	}
	if _, _, err := zh.AuthVector(ctx, "mallory@example.com", nil); !errors.Is(err, ErrUnknownIMPI) {
		t.Errorf("TS 29.109 §6.3: 5401 gives %v, want ErrUnknownIMPI", err)
	}
	// Resynchronisation: SIP-Authorization = RAND ‖ AUTS (TS 29.109 §6.1.1).
	auts := unhex(t, "ba853f3c123ccf44e93596e355c6")
	if _, _, err := zh.AuthVector(ctx, "alice@example.com", &Resync{RAND: unhex(t, ts1RAND), AUTS: auts}); err != nil {
		t.Errorf("TS 29.109 §6.1.1: resync MAR: %v", err)
	}
	bad := append(bytes.Clone(auts[:13]), auts[13]^1)
	if _, _, err := zh.AuthVector(ctx, "alice@example.com", &Resync{RAND: unhex(t, ts1RAND), AUTS: bad}); !errors.Is(err, ErrAUTSInvalid) {
		t.Errorf("TS 33.102 §6.3.5: bad AUTS gives %v", err)
	}
}

func TestZnServerAndClient(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AllowedNAFs = []string{"127.0.0.1", "localhost"}
	clk := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := New(cfg, localVectors(t), astest.NewStore(), slogT(t), WithClock(func() time.Time { return clk }))
	if err != nil {
		t.Fatal(err)
	}
	v, guss, err := b.vectors.AuthVector(t.Context(), "alice@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	btid := BTID(v.RAND, cfg.ServerName)
	if err := b.store.put(t.Context(), Bootstrap{BTID: btid, IMPI: "alice@example.com", Ks: v.Ks(), RAND: v.RAND, Created: clk, Expires: clk.Add(time.Hour), GUSS: guss}); err != nil {
		t.Fatal(err)
	}
	zs, err := NewZnServer(cfg.Zn, b, slogT(t))
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{clientDict: mustParser(t, dict.Zn), serverDict: mustParser(t, dict.Zn), handler: zs.ServeDiameter}
	pcfg := DiameterPeer{OriginHost: "naf.example.com", OriginRealm: "example.com", DestinationRealm: "example.com"}
	zc, err := NewZnClient(pcfg, w)
	if err != nil {
		t.Fatal(err)
	}
	nafID := NAFID("127.0.0.1", UaHTTPDigest)
	tests := []struct {
		name    string
		btid    string
		nafID   string
		wantErr error
	}{
		{"TS 29.109 §6.2.2: BIA with Ks_NAF", btid, nafID, nil},
		{"TS 29.109 §6.3: unknown B-TID -> 5403", "AAAA@bsf.example.com", nafID, ErrBTIDUnknown},
		{"TS 29.109 §6.3: NAF not served -> 5402", btid, NAFID("xcap.elsewhere.net", UaHTTPDigest), ErrNAFNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := zc.NAFKey(t.Context(), tc.btid, tc.nafID)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				return
			}
			want := KsNAF(v.Ks(), v.RAND, "alice@example.com", nafID)
			if !bytes.Equal(k.Key, want) || k.IMPI != "alice@example.com" || !k.Expires.Equal(clk.Add(time.Hour)) || !k.Created.Equal(clk) {
				t.Errorf("BIA %+v", k)
			}
			if ids := k.Identities(); len(ids) != 2 || ids[1] != "tel:+15550100" {
				t.Errorf("TS 29.109 §6.2.2: USS uids %v", ids)
			}
		})
	}
	// Expiry: the same B-TID after its lifetime is 5403.
	clk = clk.Add(2 * time.Hour)
	if _, err := zc.NAFKey(t.Context(), btid, nafID); !errors.Is(err, ErrBTIDUnknown) {
		t.Errorf("TS 29.109 §6.3: expired B-TID gives %v", err)
	}
}

func slogT(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// FuzzParseAnswers feeds arbitrary bytes through go-diameter's decoder and the MAA and BIA
// readers: they must not panic, and a key they accept is complete.
func FuzzParseAnswers(f *testing.F) {
	lv := localVectors(f)
	var seeds [][]byte
	w := &wire{clientDict: mustParser(f, dict.Zh), serverDict: mustParser(f, dict.Zh), handler: fakeHSS(f, lv)}
	zh, _ := NewZhClient(DefaultConfig().Zh, w)
	zh.AuthVector(context.Background(), "alice@example.com", nil)
	zh.AuthVector(context.Background(), "nobody@example.com", nil)
	seeds = append(seeds, w.raw...)
	b, _ := New(DefaultConfig(), lv, astest.NewStore(), slog.New(slog.DiscardHandler))
	zs, _ := NewZnServer(DefaultConfig().Zn, b, slog.New(slog.DiscardHandler))
	zw := &wire{clientDict: mustParser(f, dict.Zn), serverDict: mustParser(f, dict.Zn), handler: zs.ServeDiameter}
	zc, _ := NewZnClient(DiameterPeer{OriginHost: "naf", OriginRealm: "r", DestinationRealm: "r"}, zw)
	zc.NAFKey(context.Background(), "x@bsf", NAFID("127.0.0.1", UaHTTPDigest))
	seeds = append(seeds, zw.raw...)
	for _, s := range seeds {
		f.Add(s)
	}
	zhDict, znDict := mustParser(f, dict.Zh), mustParser(f, dict.Zn)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if m, err := readMessage(raw, zhDict); err == nil {
			parseMAA(m, "alice@example.com", false)
		}
		if m, err := readMessage(raw, znDict); err == nil {
			if k, err := parseBIA(m, "x@bsf"); err == nil && (len(k.Key) != 32 || k.IMPI == "") {
				t.Fatalf("accepted incomplete BIA: %+v", k)
			}
		}
	})
}

// readMessage is diam.ReadMessage with its panics turned into errors: go-diameter v4.1.0
// dereferences a nil AVP in decodeAVPs for some malformed bodies (seed below), which is the
// decoder's problem, not the MAA/BIA readers' this fuzz test is about.
func readMessage(raw []byte, d *gdict.Parser) (m *diam.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("go-diameter panic: %v", r)
		}
	}()
	return diam.ReadMessage(bytes.NewReader(raw), d)
}

// TestGoDiameterMalformedAVP records the go-diameter v4.1.0 decoder panic found by
// FuzzParseAnswers, so that whoever decodes peer input knows to guard it.
func TestGoDiameterMalformedAVP(t *testing.T) {
	raw := []byte("0\x00\x0000\x00\x01/\x01\x00\x00\x05" + strings.Repeat("0", 240))
	if _, err := readMessage(raw, mustParser(t, dict.Zh)); err == nil {
		t.Fatal("malformed message decoded without error")
	} else {
		t.Logf("go-diameter on a malformed AVP: %v", err)
	}
}
