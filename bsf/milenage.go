package bsf

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/wmnsk/milenage"
)

// Vector is one UMTS authentication vector (TS 33.102 §6.3.2): the quintet a Zh MAA or the
// local Milenage store hands to the BSF.
type Vector struct {
	RAND []byte // 16 octets
	AUTN []byte // 16 octets: SQN⊕AK ‖ AMF ‖ MAC-A
	XRES []byte // expected RES (8 octets with Milenage)
	CK   []byte // 16 octets
	IK   []byte // 16 octets
}

// Ks is the bootstrapped key CK ‖ IK (TS 33.220 §4.5.2).
func (v Vector) Ks() []byte {
	ks := make([]byte, 0, len(v.CK)+len(v.IK))
	return append(append(ks, v.CK...), v.IK...)
}

// ErrAUTSInvalid is returned when the MAC-S of an AUTS does not verify (TS 33.102 §6.3.5),
// so the sequence number cannot be resynchronised.
var ErrAUTSInvalid = errors.New("AUTS MAC-S does not verify")

// maxSQN is the largest 48-bit sequence number.
const maxSQN = 1<<48 - 1

// GenerateVector computes an authentication vector with Milenage (TS 35.206) from the
// subscriber key K, the operator variant OPc, a 16-octet RAND, the 48-bit SQN and the AMF.
func GenerateVector(k, opc, rand []byte, sqn uint64, amf uint16) (Vector, error) {
	if len(k) != 16 || len(opc) != 16 || len(rand) != 16 {
		return Vector{}, fmt.Errorf("milenage: K, OPc and RAND must be 16 octets (got %d, %d, %d)", len(k), len(opc), len(rand))
	}
	if sqn > maxSQN {
		return Vector{}, fmt.Errorf("milenage: SQN %#x exceeds 48 bits", sqn)
	}
	m := milenage.NewWithOPc(k, opc, rand, sqn, amf)
	if err := m.ComputeAll(); err != nil {
		return Vector{}, fmt.Errorf("milenage: %w", err)
	}
	autn, err := m.GenerateAUTN()
	if err != nil {
		return Vector{}, fmt.Errorf("milenage: %w", err)
	}
	return Vector{
		RAND: bytes.Clone(rand),
		AUTN: autn,
		XRES: bytes.Clone(m.RES),
		CK:   bytes.Clone(m.CK),
		IK:   bytes.Clone(m.IK),
	}, nil
}

// ResyncSQN recovers SQN_MS from an AUTS sent by the UE for RAND (TS 33.102 §6.3.5):
// SQN_MS = AUTS[0:6] ⊕ f5*(RAND), checked against MAC-S = f1*(SQN_MS, RAND, AMF=0000).
func ResyncSQN(k, opc, rand, auts []byte) (uint64, error) {
	if len(k) != 16 || len(opc) != 16 || len(rand) != 16 {
		return 0, fmt.Errorf("milenage: K, OPc and RAND must be 16 octets (got %d, %d, %d)", len(k), len(opc), len(rand))
	}
	if len(auts) != 14 {
		return 0, fmt.Errorf("milenage: AUTS must be 14 octets, got %d: %w", len(auts), ErrAUTSInvalid)
	}
	m := milenage.NewWithOPc(k, opc, rand, 0, 0)
	aks, err := m.F5Star()
	if err != nil {
		return 0, fmt.Errorf("milenage: %w", err)
	}
	var sqn [8]byte
	for i := range 6 {
		sqn[2+i] = auts[i] ^ aks[i]
	}
	macS, err := m.F1Star(sqn[2:], []byte{0, 0})
	if err != nil {
		return 0, fmt.Errorf("milenage: %w", err)
	}
	if subtle.ConstantTimeCompare(macS, auts[6:]) != 1 {
		return 0, ErrAUTSInvalid
	}
	return binary.BigEndian.Uint64(sqn[:]), nil
}
