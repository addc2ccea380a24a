package bsf

import (
	"encoding/base64"
	"encoding/hex"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// TS 35.208 test set 1 (also the demo subscribers' K/OPc).
const (
	ts1K    = "465b5ce8b199b49faa5f0a2ee238a6bc"
	ts1OPc  = "cd63cb71954a9f4e48a5994e37a02baf"
	ts1RAND = "23553cbe9637a89d218ae64dae47bf35"
	ts1SQN  = 0xff9bb4d0b607
	ts1AMF  = 0xb9b9
)

func TestMilenageTS35208Set1(t *testing.T) {
	v, err := GenerateVector(unhex(t, ts1K), unhex(t, ts1OPc), unhex(t, ts1RAND), ts1SQN, ts1AMF)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"TS 35.208 set 1: f2 RES", v.XRES, "a54211d5e3ba50bf"},
		{"TS 35.208 set 1: f3 CK", v.CK, "b40ba9a3c58b2a05bbf0d987b21bf8cb"},
		{"TS 35.208 set 1: f4 IK", v.IK, "f769bcd751044604127672711c6d3441"},
		{"TS 33.102 §6.3.2: AUTN = SQN⊕AK ‖ AMF ‖ f1 MAC-A", v.AUTN, "55f328b43577b9b94a9ffac354dfafb3"},
		{"TS 33.220 §4.5.2: Ks = CK ‖ IK", v.Ks(), "b40ba9a3c58b2a05bbf0d987b21bf8cbf769bcd751044604127672711c6d3441"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hex.EncodeToString(tc.got); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestResyncSQN(t *testing.T) {
	k, opc, rand := unhex(t, ts1K), unhex(t, ts1OPc), unhex(t, ts1RAND)
	tests := []struct {
		name    string
		auts    string
		want    uint64
		wantErr bool
	}{
		{"TS 33.102 §6.3.5: AUTS of test set 1 gives SQN_MS", "ba853f3c123ccf44e93596e355c6", ts1SQN, false},
		{"TS 33.102 §6.3.5: MAC-S mismatch is refused", "ba853f3c123ccf44e93596e355c7", 0, true},
		{"TS 33.102 §6.3.3: AUTS must be 14 octets", "ba853f3c123c", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResyncSQN(k, opc, rand, unhex(t, tc.auts))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("SQN_MS = %#x, want %#x", got, tc.want)
			}
		})
	}
}

func TestGBAWorkedVectors(t *testing.T) {
	v, err := GenerateVector(unhex(t, ts1K), unhex(t, ts1OPc), unhex(t, ts1RAND), ts1SQN, ts1AMF)
	if err != nil {
		t.Fatal(err)
	}
	const impi = "user1_private@home1.net"
	nonce := base64.StdEncoding.EncodeToString(append(append([]byte{}, v.RAND...), v.AUTN...))
	if nonce != "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=" {
		t.Errorf("TS 24.109 §5.2: nonce = %s", nonce)
	}
	if got := BTID(v.RAND, "bsf.home1.net"); got != "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net" {
		t.Errorf("TS 33.220 §4.5.2: B-TID = %s", got)
	}
	tests := []struct {
		name string
		ua   UaProtocolID
		want string
	}{
		{"TS 33.220 B.3/H.3: Ks_NAF, plain HTTP Digest 01 00 00 00 02", UaHTTPDigest, "6859b69db92e3b3b2cef5906aa8dca63513dd97307dc269e22e87ddb84e53528"},
		{"TS 33.220 B.3/H.3: Ks_NAF, TLS 01 00 01 C0 2F", UaHTTPDigestTLS(0xc02f), "a7d2e17cf1f1610de9995f9f38eaa777bac51bd7f5234ef7b8a8cbb8bad72071"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := KsNAF(v.Ks(), v.RAND, impi, NAFID("xcap.home1.net", tc.ua))
			if hex.EncodeToString(got) != tc.want {
				t.Errorf("Ks_NAF = %x, want %s", got, tc.want)
			}
		})
	}
	if got := base64.StdEncoding.EncodeToString(KsNAF(v.Ks(), v.RAND, impi, NAFID("xcap.home1.net", UaHTTPDigest))); got != "aFm2nbkuOzss71kGqo3KY1E92XMH3CaeIuh924TlNSg=" {
		t.Errorf("TS 24.109 §5.2: base64(Ks_NAF) = %s", got)
	}
}

func TestUaProtocolID(t *testing.T) {
	tests := []struct {
		name string
		ua   UaProtocolID
		want string
	}{
		{"TS 33.220 H.3: plain HTTP Digest", UaHTTPDigest, "0100000002"},
		{"TS 33.220 H.3: TLS_RSA_WITH_AES_128_CBC_SHA", UaHTTPDigestTLS(0x002f), "010001002f"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.ua.Bytes()
			if got := hex.EncodeToString(b[:]); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			fqdn, ua, ok := SplitNAFID(NAFID("xcap.example.com", tc.ua))
			if !ok || fqdn != "xcap.example.com" || ua != tc.ua {
				t.Errorf("SplitNAFID round trip: %q %x %v", fqdn, ua, ok)
			}
		})
	}
}
