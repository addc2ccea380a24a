package bsftest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/icholy/digest"
	"github.com/wmnsk/milenage"

	"github.com/imsps/imsps/bsf"
)

// ErrNetworkAuth is returned when the UE cannot authenticate the network: AUTN's MAC is wrong
// (the BSF does not know this K) or rspauth does not verify.
var ErrNetworkAuth = errors.New("network authentication failed")

// ErrRefused is returned when the BSF ends the run without a 200 (a 4xx/5xx other than 401).
var ErrRefused = errors.New("bootstrapping refused")

// UE is a test user equipment with a USIM (K, OPc) and a GBA_ME client.
type UE struct {
	IMPI string
	// Client sends every request; nil means http.DefaultClient.
	Client *http.Client
	// UbQOP is the qop the UE answers Ub with (TS 24.109 says auth-int; default "auth-int").
	UbQOP string

	k, opc []byte

	mu       sync.Mutex
	sqnMS    uint64 // highest SQN accepted (TS 33.102 C.2)
	ubURL    string
	btid     string
	ks, rand []byte
	lifetime time.Time
	resyncs  int
	nafChal  map[string]*nafChallenge // by NAF_Id
	lastAKA  *pendingAKA
}

type nafChallenge struct {
	chal *digest.Challenge
	nc   int
}

// NewUE returns a UE whose USIM holds k and opc (16 octets each). Its SQN_MS starts at 0.
func NewUE(impi string, k, opc []byte) *UE {
	return &UE{IMPI: impi, k: bytes.Clone(k), opc: bytes.Clone(opc), UbQOP: "auth-int", nafChal: map[string]*nafChallenge{}}
}

// SetSQN sets the USIM's highest accepted sequence number; a value above the network's makes
// the next challenge fail the SQN check and the UE resynchronise with AUTS.
func (u *UE) SetSQN(sqn uint64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.sqnMS = sqn
}

// BTID returns the current bootstrapping transaction identifier (empty before Bootstrap).
func (u *UE) BTID() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.btid
}

// Lifetime returns the key lifetime the BSF announced.
func (u *UE) Lifetime() time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.lifetime
}

// Resyncs counts the AUTS resynchronisations the UE has made.
func (u *UE) Resyncs() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.resyncs
}

func (u *UE) client() *http.Client {
	if u.Client != nil {
		return u.Client
	}
	return http.DefaultClient
}

// Bootstrap runs the Ub procedure (TS 24.109 §5.2.1) against ubURL, e.g. http://127.0.0.1:8082/.
func (u *UE) Bootstrap(ctx context.Context, ubURL string) error {
	pu, err := url.Parse(ubURL)
	if err != nil {
		return err
	}
	uri := pu.RequestURI()
	auth := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="", uri="%s", response=""`, u.IMPI, pu.Hostname(), uri)
	macFailure := false
	for round := 0; round < 4; round++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ubURL, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("User-Agent", "imsps-bsftest 3gpp-gba")
		resp, err := u.client().Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if macFailure {
			// RFC 3310 §3: after answering with an empty password the UE gives up on this network.
			return fmt.Errorf("%w: AUTN MAC failure (BSF answered %s)", ErrNetworkAuth, resp.Status)
		}
		switch resp.StatusCode {
		case http.StatusOK:
			return u.finish(resp, body, auth, ubURL)
		case http.StatusUnauthorized:
			auth, macFailure, err = u.answer(resp.Header.Get("WWW-Authenticate"), uri)
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: %s: %s", ErrRefused, resp.Status, strings.TrimSpace(string(body)))
		}
	}
	return fmt.Errorf("%w: no 200 after 4 rounds", ErrRefused)
}

// pendingAKA is the answered challenge, to check rspauth and derive Ks.
type pendingAKA struct {
	ha1, nonce, cnonce, nc, qop, uri string
	rand, ck, ik                     []byte
}

func (u *UE) answer(wwwAuth, uri string) (auth string, macFailure bool, err error) {
	chal, err := digest.ParseChallenge(wwwAuth)
	if err != nil {
		return "", false, fmt.Errorf("Ub challenge: %w", err)
	}
	if !strings.EqualFold(chal.Algorithm, "AKAv1-MD5") {
		return "", false, fmt.Errorf("Ub challenge algorithm %q, want AKAv1-MD5", chal.Algorithm)
	}
	raw, err := base64.StdEncoding.DecodeString(chal.Nonce)
	if err != nil || len(raw) < 32 {
		return "", false, fmt.Errorf("Ub nonce is not base64(RAND ‖ AUTN)")
	}
	rand, autn := raw[:16], raw[16:32]
	password, auts, err := u.usim(rand, autn)
	if err != nil && !errors.Is(err, ErrNetworkAuth) {
		return "", false, err
	}
	macFailure = err != nil
	c := *chal
	c.Algorithm = "MD5" // AKAv1-MD5 hashes like MD5 with RES as the password (RFC 3310 §3)
	c.QOP = []string{u.UbQOP}
	if !chal.SupportsQOP(u.UbQOP) {
		c.QOP = chal.QOP
	}
	cred, err := digest.Digest(&c, digest.Options{Method: http.MethodGet, URI: uri, Username: u.IMPI, Password: string(password), Count: 1})
	if err != nil {
		return "", false, err
	}
	cred.Algorithm = chal.Algorithm
	h := cred.String()
	if auts != nil {
		h += fmt.Sprintf(`, auts="%s"`, base64.StdEncoding.EncodeToString(auts))
	}
	if macFailure {
		// RFC 3310 §3: the UE answers with an empty password and stops after it.
		return h, true, nil
	}
	u.mu.Lock()
	u.lastAKA = &pendingAKA{
		ha1: md5hex(u.IMPI, chal.Realm, string(password)), nonce: chal.Nonce, cnonce: cred.Cnonce,
		nc: fmt.Sprintf("%08x", cred.Nc), qop: cred.QOP, uri: uri, rand: bytes.Clone(rand),
	}
	if password != nil {
		u.lastAKA.ck, u.lastAKA.ik = u.ckik(rand)
	}
	u.mu.Unlock()
	return h, false, nil
}

// usim checks AUTN (TS 33.102 §6.3.3) and returns RES, or AUTS on a sequence failure.
func (u *UE) usim(rand, autn []byte) (res, auts []byte, err error) {
	m := milenage.NewWithOPc(u.k, u.opc, rand, 0, 0)
	resv, _, _, ak, err := m.F2345()
	if err != nil {
		return nil, nil, err
	}
	var sqnb [8]byte
	for i := range 6 {
		sqnb[2+i] = autn[i] ^ ak[i]
	}
	sqn := binary.BigEndian.Uint64(sqnb[:])
	amf := binary.BigEndian.Uint16(autn[6:8])
	m2 := milenage.NewWithOPc(u.k, u.opc, rand, sqn, amf)
	xmac, err := m2.F1()
	if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare(xmac, autn[8:16]) != 1 {
		return nil, nil, fmt.Errorf("AUTN MAC: %w", ErrNetworkAuth)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if sqn <= u.sqnMS {
		m3 := milenage.NewWithOPc(u.k, u.opc, rand, u.sqnMS, 0)
		auts, err := m3.GenerateAUTS()
		if err != nil {
			return nil, nil, err
		}
		u.resyncs++
		return nil, auts, nil
	}
	u.sqnMS = sqn
	return bytes.Clone(resv), nil, nil
}

func (u *UE) ckik(rand []byte) (ck, ik []byte) {
	m := milenage.NewWithOPc(u.k, u.opc, rand, 0, 0)
	_, ck, ik, _, _ = m.F2345()
	return bytes.Clone(ck), bytes.Clone(ik)
}

func (u *UE) finish(resp *http.Response, body []byte, auth, ubURL string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.lastAKA
	if p == nil || p.ck == nil {
		return fmt.Errorf("%w: 200 without an answered challenge", ErrNetworkAuth)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.3gpp.bsf+xml" {
		return fmt.Errorf("Ub 200 Content-Type %q", ct)
	}
	// Mutual authentication: rspauth (RFC 2617 §3.2.3) with an empty method.
	info := resp.Header.Get("Authentication-Info")
	a2 := md5hex("", p.uri)
	if p.qop == "auth-int" {
		a2 = md5hex("", p.uri, md5hex(string(body)))
	}
	want := md5hex(p.ha1, p.nonce, p.nc, p.cnonce, p.qop, a2)
	if !strings.Contains(info, `rspauth="`+want+`"`) {
		return fmt.Errorf("%w: rspauth in %q, want %s", ErrNetworkAuth, info, want)
	}
	bi, err := bsf.ParseBootstrappingInfo(body)
	if err != nil {
		return err
	}
	u.btid, u.lifetime, u.ubURL = bi.BTID, bi.Lifetime, ubURL
	u.ks = append(bytes.Clone(p.ck), p.ik...)
	u.rand = p.rand
	u.nafChal = map[string]*nafChallenge{}
	return nil
}

func md5hex(parts ...string) string {
	sum := md5.Sum([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(sum[:])
}
