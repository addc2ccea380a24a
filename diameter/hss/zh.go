package hss

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/wmnsk/milenage"

	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
)

// AKAScheme is the SIP-Authentication-Scheme of GBA's Digest AKA (TS 29.109 §6.3).
const AKAScheme = "Digest-AKAv1-MD5"

// serveMAR answers a Zh Multimedia-Auth-Request (TS 29.109 §4.2): one authentication vector
// (SIP-Authenticate = RAND‖AUTN, SIP-Authorization = XRES, Confidentiality-Key, Integrity-Key)
// and the GUSS unless the BSF's GUSS-Timestamp shows it is current. A SIP-Authorization of
// RAND‖AUTS in the request asks for re-synchronisation (TS 33.102 §6.3.5): the AUTS is
// verified, SQN set from it, and a fresh vector returned.
func (h *HSS) serveMAR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	if err := h.checkCommon(req, [2]uint32{dict.AVPUserName, 0}); err != nil {
		return nil, err
	}
	impi, _ := peer.String(peer.Find(req.AVP, dict.AVPUserName, 0))
	item := peer.Children(peer.Find(req.AVP, dict.AVPSIPAuthDataItem, dict.Vendor3GPP))
	if scheme, ok := peer.String(peer.Find(item, dict.AVPSIPAuthenticationScheme, dict.Vendor3GPP)); ok && scheme != AKAScheme {
		return nil, peer.Result(dict.InvalidAVPValue, "unsupported SIP-Authentication-Scheme "+scheme,
			peer.Vendor3GPP(dict.AVPSIPAuthenticationScheme, true, datatype.UTF8String(scheme)))
	}
	resync, hasResync := peer.Bytes(peer.Find(item, dict.AVPSIPAuthorization, dict.Vendor3GPP))

	h.db.mu.Lock()
	defer h.db.mu.Unlock()
	sub, ok := h.db.byIMPI[impi]
	if !ok {
		return nil, peer.Experimental(dict.ErrorIMPIUnknown)
	}
	if pub, ok := peer.String(peer.Find(req.AVP, dict.AVPPublicIdentity, dict.Vendor3GPP)); ok {
		if s, ok := h.db.byPublic(pub); !ok || s != sub {
			return nil, peer.Experimental(dict.ErrorIdentitiesDontMatch)
		}
	}
	if len(sub.k) != 16 || len(sub.opc) != 16 {
		return nil, peer.Result(dict.UnableToComply, "no AKA credentials for "+impi)
	}
	if hasResync {
		if len(resync) != 30 {
			return nil, peer.Result(dict.InvalidAVPValue, "SIP-Authorization must be RAND‖AUTS (30 octets)",
				peer.Vendor3GPP(dict.AVPSIPAuthorization, true, datatype.OctetString(resync)))
		}
		sqn, err := verifyAUTS(sub.k, sub.opc, resync[:16], resync[16:])
		if err != nil {
			h.log.Warn("AUTS verification failed", "impi", impi, "err", err)
			return nil, peer.Result(dict.AuthenticationRejected, err.Error())
		}
		sub.sqn = sqn
	}
	sub.sqn = (sub.sqn + 1) & 0xffffffffffff
	v, err := vector(sub.k, sub.opc, sub.sqn, sub.amf)
	if err != nil {
		return nil, err
	}

	a := peer.NewAnswer(ctx, req)
	a.AddAVP(diam.NewAVP(dict.AVPUserName, 0x40, 0, datatype.UTF8String(impi)))
	if len(sub.impus) > 0 {
		a.AddAVP(peer.Vendor3GPP(dict.AVPPublicIdentity, true, datatype.UTF8String(sub.impus[0])))
	}
	a.AddAVP(peer.Vendor3GPP(dict.AVPSIPNumberAuthItems, true, datatype.Unsigned32(1)))
	a.AddAVP(peer.Vendor3GPP(dict.AVPSIPAuthDataItem, true, &diam.GroupedAVP{AVP: []*diam.AVP{
		peer.Vendor3GPP(dict.AVPSIPItemNumber, true, datatype.Unsigned32(1)),
		peer.Vendor3GPP(dict.AVPSIPAuthenticationScheme, true, datatype.UTF8String(AKAScheme)),
		peer.Vendor3GPP(dict.AVPSIPAuthenticate, true, datatype.OctetString(append(append([]byte{}, v.RAND...), v.AUTN...))),
		peer.Vendor3GPP(dict.AVPSIPAuthorization, true, datatype.OctetString(v.XRES)),
		peer.Vendor3GPP(dict.AVPConfidentialityKey, true, datatype.OctetString(v.CK)),
		peer.Vendor3GPP(dict.AVPIntegrityKey, true, datatype.OctetString(v.IK)),
	}}))
	send := true
	if ts := peer.Find(req.AVP, dict.AVPGUSSTimestamp, dict.Vendor3GPP); ts != nil {
		if t, ok := ts.Data.(datatype.Time); ok && !time.Time(t).Before(sub.gussTime.Truncate(time.Second)) {
			send = false // the BSF's copy is current (TS 29.109 §4.2.1)
		}
	}
	if send {
		a.AddAVP(peer.Vendor3GPP(dict.AVPGBAUserSecSettings, true, datatype.OctetString(guss(sub))))
	}
	return a, nil
}

// Vector is one UMTS authentication vector (TS 33.102 §6.3.2).
type Vector struct {
	RAND, AUTN, XRES, CK, IK []byte
}

func vector(k, opc []byte, sqn uint64, amf uint16) (Vector, error) {
	r := make([]byte, 16)
	if _, err := rand.Read(r); err != nil {
		return Vector{}, err
	}
	return VectorFor(k, opc, r, sqn, amf)
}

// VectorFor computes the vector for a given RAND (Milenage, TS 35.206).
func VectorFor(k, opc, rnd []byte, sqn uint64, amf uint16) (Vector, error) {
	m := milenage.NewWithOPc(k, opc, rnd, sqn, amf)
	if err := m.ComputeAll(); err != nil {
		return Vector{}, fmt.Errorf("milenage: %w", err)
	}
	autn, err := m.GenerateAUTN()
	if err != nil {
		return Vector{}, fmt.Errorf("milenage: %w", err)
	}
	return Vector{RAND: rnd, AUTN: autn, XRES: m.RES, CK: m.CK, IK: m.IK}, nil
}

// verifyAUTS checks AUTS = (SQN_MS ⊕ AK*) ‖ MAC-S against K/OPc and RAND (TS 33.102 §6.3.3,
// MAC-S computed with AMF 0000) and returns SQN_MS.
func verifyAUTS(k, opc, rnd, auts []byte) (uint64, error) {
	m := milenage.NewWithOPc(k, opc, rnd, 0, 0)
	aks, err := m.F5Star()
	if err != nil {
		return 0, err
	}
	sqnMS := make([]byte, 6)
	for i := range sqnMS {
		sqnMS[i] = auts[i] ^ aks[i]
	}
	macS, err := m.F1Star(sqnMS, []byte{0, 0})
	if err != nil {
		return 0, err
	}
	if !bytes.Equal(macS, auts[6:14]) {
		return 0, fmt.Errorf("AUTS MAC-S mismatch")
	}
	var b [8]byte
	copy(b[2:], sqnMS)
	return binary.BigEndian.Uint64(b[:]), nil
}

// guss builds the GBA User Security Settings (TS 29.109 Annex A): one USS per public
// identity, GBA_ME, lifetime one day. Namespace uri:3gpp-gba as in the Ub bootstrapping body.
func guss(sub *subscriber) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><guss xmlns="uri:3gpp-gba" id="`)
	b.WriteString(xmlEscape(sub.impi))
	b.WriteString(`"><bsfInfo><uiccType>GBA</uiccType><lifeTime>86400</lifeTime></bsfInfo><ussList><uss id="1" type="1" nafGroup=""><uids>`)
	for _, u := range sub.impus {
		b.WriteString("<uid>" + xmlEscape(u) + "</uid>")
	}
	b.WriteString(`</uids><flags></flags></uss></ussList></guss>`)
	return []byte(b.String())
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xmlEscapeTo(&b, s)
	return b.String()
}
