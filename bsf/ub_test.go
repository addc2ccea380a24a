package bsf

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"
	"github.com/wmnsk/milenage"

	"github.com/imsps/imsps/as/astest"
)

type ubHarness struct {
	t   *testing.T
	b   *BSF
	now time.Time
}

func newUbHarness(t *testing.T) *ubHarness {
	h := &ubHarness{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	b, err := New(DefaultConfig(), localVectors(t), astest.NewStore(), slogT(t), WithClock(func() time.Time { return h.now }))
	if err != nil {
		t.Fatal(err)
	}
	h.b = b
	return h
}

func (h *ubHarness) send(auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", auth)
	w := httptest.NewRecorder()
	h.b.Handler().ServeHTTP(w, req)
	return w
}

// answer computes the UE's Digest AKA response (password RES = f2(K, RAND)) with qop auth.
func (h *ubHarness) answer(w *httptest.ResponseRecorder, impi string, password []byte) string {
	h.t.Helper()
	chal, err := digest.ParseChallenge(w.Header().Get("WWW-Authenticate"))
	if err != nil {
		h.t.Fatalf("challenge: %v (%d %q)", err, w.Code, w.Header())
	}
	if password == nil {
		raw, _ := base64.StdEncoding.DecodeString(chal.Nonce)
		m := milenage.NewWithOPc(unhex(h.t, ts1K), unhex(h.t, ts1OPc), raw[:16], 0, 0)
		res, _, _, _, _ := m.F2345()
		password = res
	}
	c := *chal
	c.Algorithm, c.QOP = "MD5", []string{"auth"}
	cred, err := digest.Digest(&c, digest.Options{Method: http.MethodGet, URI: "/", Username: impi, Password: string(password), Count: 1})
	if err != nil {
		h.t.Fatal(err)
	}
	cred.Algorithm = "AKAv1-MD5"
	return cred.String()
}

const initialAuth = `Digest username="alice@example.com", realm="bsf.example.com", nonce="", uri="/", response=""`

func TestUbExchange(t *testing.T) {
	tests := []struct {
		name       string
		run        func(h *ubHarness) *httptest.ResponseRecorder
		wantStatus int
		wantStale  bool
	}{
		{
			name:       "TS 24.109 §5.2.1: empty nonce -> 401 AKAv1-MD5 with base64(RAND‖AUTN)",
			run:        func(h *ubHarness) *httptest.ResponseRecorder { return h.send(initialAuth) },
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "TS 24.109 §5.2.1: RES as password -> 200",
			run: func(h *ubHarness) *httptest.ResponseRecorder {
				return h.send(h.answer(h.send(initialAuth), "alice@example.com", nil))
			},
			wantStatus: http.StatusOK,
		},
		{
			name: "RFC 2617 §3.2.2: replayed answer -> new challenge",
			run: func(h *ubHarness) *httptest.ResponseRecorder {
				a := h.answer(h.send(initialAuth), "alice@example.com", nil)
				h.send(a)
				return h.send(a)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "RFC 2617 §3.2.1: right answer after challenge_lifetime -> stale=true",
			run: func(h *ubHarness) *httptest.ResponseRecorder {
				a := h.answer(h.send(initialAuth), "alice@example.com", nil)
				h.now = h.now.Add(2 * time.Minute)
				return h.send(a)
			},
			wantStatus: http.StatusUnauthorized,
			wantStale:  true,
		},
		{
			name: "RFC 3310 §3: wrong RES -> new challenge",
			run: func(h *ubHarness) *httptest.ResponseRecorder {
				return h.send(h.answer(h.send(initialAuth), "alice@example.com", []byte("12345678")))
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "RFC 3310 §3: empty password (UE MAC failure) -> new challenge",
			run: func(h *ubHarness) *httptest.ResponseRecorder {
				return h.send(h.answer(h.send(initialAuth), "alice@example.com", []byte{}))
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name:       "TS 24.109 §5.2.1: no Authorization -> 400",
			run:        func(h *ubHarness) *httptest.ResponseRecorder { return h.send("") },
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "TS 24.109 §5.2.1: unknown IMPI -> 403",
			run: func(h *ubHarness) *httptest.ResponseRecorder {
				return h.send(strings.Replace(initialAuth, "alice", "mallory", 1))
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name: "RFC 3310 §3: malformed auts -> 400",
			run: func(h *ubHarness) *httptest.ResponseRecorder {
				a := h.answer(h.send(initialAuth), "alice@example.com", []byte{})
				return h.send(a + `, auts="AAAA"`)
			},
			wantStatus: http.StatusBadRequest,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newUbHarness(t)
			w := tc.run(h)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.wantStatus, w.Body)
			}
			switch w.Code {
			case http.StatusUnauthorized:
				chal, err := digest.ParseChallenge(w.Header().Get("WWW-Authenticate"))
				if err != nil {
					t.Fatal(err)
				}
				raw, err := base64.StdEncoding.DecodeString(chal.Nonce)
				if err != nil || len(raw) != 32 || chal.Algorithm != "AKAv1-MD5" || chal.Realm != "bsf.example.com" ||
					fmt.Sprint(chal.QOP) != "[auth-int auth]" || chal.Stale != tc.wantStale {
					t.Errorf("challenge %+v", chal)
				}
			case http.StatusOK:
				if ct := w.Header().Get("Content-Type"); ct != "application/vnd.3gpp.bsf+xml" {
					t.Errorf("Content-Type %q", ct)
				}
				if !strings.Contains(w.Header().Get("Authentication-Info"), "rspauth=") {
					t.Errorf("Authentication-Info %q", w.Header().Get("Authentication-Info"))
				}
				bi, err := ParseBootstrappingInfo(w.Body.Bytes())
				if err != nil || !bi.Lifetime.Equal(h.now.Add(time.Hour)) || !strings.HasSuffix(bi.BTID, "@bsf.example.com") {
					t.Errorf("BootstrappingInfo %+v %v: %s", bi, err, w.Body)
				}
			}
		})
	}
}

func FuzzParseBootstrappingInfo(f *testing.F) {
	f.Add([]byte(BootstrappingInfo{BTID: "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net", Lifetime: time.Date(2004, 1, 8, 10, 50, 35, 0, time.UTC)}.Marshal()))
	f.Add([]byte(`<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>x@y</btid><lifetime>bad</lifetime></BootstrappingInfo>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		bi, err := ParseBootstrappingInfo(b)
		if err != nil {
			return
		}
		again, err := ParseBootstrappingInfo(bi.Marshal())
		if err != nil || again.BTID != bi.BTID || !again.Lifetime.Equal(bi.Lifetime.Truncate(time.Second)) {
			if strings.ContainsAny(bi.BTID, "\x00") {
				return
			}
			t.Fatalf("round trip %+v -> %+v, %v", bi, again, err)
		}
	})
}

func FuzzParseGUSS(f *testing.F) {
	g, _ := MarshalGUSS(GUSS{UICCType: "GBA", USS: []USS{{ID: "1", Type: "1", UIDs: []string{"sip:alice@example.com", "tel:+15550100"}, Flags: []int{1}}}})
	f.Add(g)
	u, _ := MarshalUSSList([]USS{{ID: "1", UIDs: []string{"sip:bob@example.com"}}})
	f.Add(u)
	f.Fuzz(func(t *testing.T, b []byte) {
		if g, err := ParseGUSS(b); err == nil {
			if _, err := MarshalGUSS(g); err != nil {
				t.Fatalf("marshal of parsed GUSS: %v", err)
			}
		}
		if l, err := ParseUSSList(b); err == nil {
			if _, err := MarshalUSSList(l); err != nil {
				t.Fatalf("marshal of parsed ussList: %v", err)
			}
		}
	})
}
