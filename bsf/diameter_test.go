package bsf

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	gdict "github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/configs"
	"github.com/imsps/imsps/diameter/dict"
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
func fakeHSS(t testing.TB, lv *LocalVectors) func(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	hss := DiameterPeer{OriginHost: "hss.example.com", OriginRealm: "example.com"}
	return func(ctx context.Context, req *diam.Message) (*diam.Message, error) {
		a := diam.NewMessage(req.Header.CommandCode, req.Header.CommandFlags&^diam.RequestFlag, req.Header.ApplicationID, req.Header.HopByHopID, req.Header.EndToEndID, req.Dictionary())
		a.AddAVP(findAVP(req.AVP, dict.AVPSessionID, 0))
		a.AddAVP(vsai(dict.Zh))
		impi := string(avpBytes(findAVP(req.AVP, dict.AVPUserName, 0)))
		var resync *Resync
		if ra := avpBytes(findAVP(children(findAVP(req.AVP, dict.AVPSIPAuthDataItem, dict.Vendor3GPP)), dict.AVPSIPAuthorization, dict.Vendor3GPP)); len(ra) == 30 {
			resync = &Resync{RAND: ra[:16], AUTS: ra[16:]}
		}
		v, guss, err := lv.AuthVector(ctx, impi, resync)
		switch {
		case errors.Is(err, ErrUnknownIMPI):
			a.AddAVP(baseAVP(dict.AVPExperimentalResult, &diam.GroupedAVP{AVP: []*diam.AVP{
				baseAVP(dict.AVPVendorID, datatype.Unsigned32(dict.Vendor3GPP)),
				baseAVP(dict.AVPExperimentalResultCode, datatype.Unsigned32(dict.ErrorIMPIUnknown.Code)),
			}}))
		case err != nil:
			a.AddAVP(baseAVP(dict.AVPResultCode, datatype.Unsigned32(dict.AuthenticationRejected)))
		default:
			a.AddAVP(baseAVP(dict.AVPResultCode, datatype.Unsigned32(dict.Success)))
		}
		a.AddAVP(baseAVP(dict.AVPAuthSessionState, datatype.Enumerated(dict.NoStateMaintained)))
		hss.addOrigin(a)
		if err == nil {
			a.AddAVP(baseAVP(dict.AVPUserName, datatype.UTF8String(impi)))
			a.AddAVP(tgppAVP(dict.AVPSIPNumberAuthItems, datatype.Unsigned32(1)))
			a.AddAVP(tgppAVP(dict.AVPSIPAuthDataItem, &diam.GroupedAVP{AVP: []*diam.AVP{
				tgppAVP(dict.AVPSIPAuthenticationScheme, datatype.UTF8String(SchemeDigestAKAv1)),
				tgppAVP(dict.AVPSIPAuthenticate, datatype.OctetString(append(append([]byte{}, v.RAND...), v.AUTN...))),
				tgppAVP(dict.AVPSIPAuthorization, datatype.OctetString(v.XRES)),
				tgppAVP(dict.AVPConfidentialityKey, datatype.OctetString(v.CK)),
				tgppAVP(dict.AVPIntegrityKey, datatype.OctetString(v.IK)),
			}}))
			g, _ := MarshalGUSS(guss)
			a.AddAVP(tgppAVP(dict.AVPGBAUserSecSettings, datatype.OctetString(g)))
		}
		return a, nil
	}
}

// memStore is a tiny in-memory as.Store for unit tests.
type memStore struct {
	mu sync.Mutex
	m  map[as.Bucket]map[string][]byte
}

func newMemStore() *memStore { return &memStore{m: map[as.Bucket]map[string][]byte{}} }

func (s *memStore) View(ctx context.Context, fn func(as.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn(memTx{s})
}

func (s *memStore) Update(ctx context.Context, fn func(as.Tx) error) error { return s.View(ctx, fn) }

type memTx struct{ s *memStore }

func (t memTx) Get(b as.Bucket, k string) []byte { return t.s.m[b][k] }
func (t memTx) Put(b as.Bucket, k string, v []byte) error {
	if t.s.m[b] == nil {
		t.s.m[b] = map[string][]byte{}
	}
	t.s.m[b][k] = bytes.Clone(v)
	return nil
}
func (t memTx) Delete(b as.Bucket, k string) error { delete(t.s.m[b], k); return nil }
func (t memTx) ForEach(b as.Bucket, prefix string, fn func(string, []byte) error) error {
	for k, v := range t.s.m[b] {
		if strings.HasPrefix(k, prefix) {
			if err := fn(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}
func (t memTx) NextSequence(b as.Bucket) (uint64, error) { return 0, errors.New("not needed") }

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
	b, err := New(cfg, localVectors(t), newMemStore(), slogT(t), WithClock(func() time.Time { return clk }))
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

// TestWireTshark writes the Zh and Zn exchanges into a pcap and has tshark decode them:
// no malformed packet, no unknown AVP, the GBA AVPs by name.
func TestWireTshark(t *testing.T) {
	lv := localVectors(t)
	zhWire := &wire{clientDict: mustParser(t, dict.Zh), serverDict: mustParser(t, dict.Zh), handler: fakeHSS(t, lv)}
	zh, err := NewZhClient(DefaultConfig().Zh, zhWire)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	b, err := New(cfg, zh, newMemStore(), slogT(t))
	if err != nil {
		t.Fatal(err)
	}
	v, guss, err := zh.AuthVector(t.Context(), "alice@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := zh.AuthVector(t.Context(), "alice@example.com", &Resync{RAND: unhex(t, ts1RAND), AUTS: unhex(t, "ba853f3c123ccf44e93596e355c6")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	btid := BTID(v.RAND, cfg.ServerName)
	if err := b.store.put(t.Context(), Bootstrap{BTID: btid, IMPI: "alice@example.com", Ks: v.Ks(), RAND: v.RAND, Created: now, Expires: now.Add(time.Hour), GUSS: guss}); err != nil {
		t.Fatal(err)
	}
	zs, _ := NewZnServer(cfg.Zn, b, slogT(t))
	znWire := &wire{clientDict: mustParser(t, dict.Zn), serverDict: mustParser(t, dict.Zn), handler: zs.ServeDiameter}
	zc, _ := NewZnClient(DiameterPeer{OriginHost: "naf.example.com", OriginRealm: "example.com", DestinationRealm: "example.com"}, znWire)
	if _, err := zc.NAFKey(t.Context(), btid, NAFID("127.0.0.1", UaHTTPDigest)); err != nil {
		t.Fatal(err)
	}
	if _, err := zc.NAFKey(t.Context(), "unknown@bsf.example.com", NAFID("127.0.0.1", UaHTTPDigest)); !errors.Is(err, ErrBTIDUnknown) {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "zh-zn.pcap")
	if err := os.WriteFile(path, pcap(append(zhWire.raw, znWire.raw...)), 0o600); err != nil {
		t.Fatal(err)
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Fatalf("tshark is needed for the wire check (apt-get install -y tshark): %v", err)
	}
	out, err := exec.Command(tshark, "-n", "-r", path, "-V", "-d", "tcp.port==3868,diameter").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	text := string(out)
	for _, bad := range []string{"Malformed", "Unknown AVP", "Expert Info (Error", "Expert Info (Warning"} {
		if strings.Contains(text, bad) {
			t.Errorf("tshark reports %q:\n%s", bad, text)
		}
	}
	for _, want := range []string{
		"Multimedia-Auth", "SIP-Auth-Data-Item", "Confidentiality-Key", "GBA-UserSecSettings",
		// Wireshark names 310 "Boostrapping-Info" and 402 "NAF-Hostname": match the codes.
		"Command Code: Boo", "(310)", "Transaction-Identifier(401)", "(402)", "ME-Key-Material(405)", "Key-ExpiryTime(404)",
		"BootstrapInfoCreationTime", "Experimental-Result-Code: DIAMETER_ERROR_TRANSACTION_IDENTIFIER_INVALID",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("tshark output lacks %q", want)
		}
	}
	if t.Failed() {
		os.WriteFile(filepath.Join(os.TempDir(), "bsf-tshark.txt"), out, 0o600)
	}
}

// pcap wraps alternating request/answer messages in IPv4/TCP segments (LINKTYPE_RAW)
// between 127.0.0.1:40000 (client) and 127.0.0.2:3868 (server).
func pcap(msgs [][]byte) []byte {
	var buf bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 101) // LINKTYPE_RAW
	buf.Write(hdr)
	seq := [2]uint32{1000, 5000}
	for i, m := range msgs {
		dir := i % 2
		src, dst := [4]byte{127, 0, 0, 1}, [4]byte{127, 0, 0, 2}
		sport, dport := uint16(40000), uint16(3868)
		if dir == 1 {
			src, dst, sport, dport = dst, src, dport, sport
		}
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(40+len(m)))
		ip[8] = 64
		ip[9] = 6
		copy(ip[12:], src[:])
		copy(ip[16:], dst[:])
		binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
		tcp := make([]byte, 20)
		binary.BigEndian.PutUint16(tcp[0:], sport)
		binary.BigEndian.PutUint16(tcp[2:], dport)
		binary.BigEndian.PutUint32(tcp[4:], seq[dir])
		binary.BigEndian.PutUint32(tcp[8:], seq[1-dir])
		tcp[12] = 5 << 4
		tcp[13] = 0x18 // PSH, ACK
		binary.BigEndian.PutUint16(tcp[14:], 65535)
		seq[dir] += uint32(len(m))
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[0:], uint32(1700000000+i))
		binary.LittleEndian.PutUint32(rec[8:], uint32(40+len(m)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(40+len(m)))
		buf.Write(rec)
		buf.Write(ip)
		buf.Write(tcp)
		buf.Write(m)
	}
	return buf.Bytes()
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
