package bsf

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/imsps/imsps/configs"
)

// VectorSource hands the BSF authentication vectors for a private identity: the Zh MAR/MAA
// exchange with the HSS (TS 29.109 §6.1) or a local Milenage store in a standalone lab.
type VectorSource interface {
	// AuthVector returns a fresh vector and the user's GBA security settings. With resync
	// set, the source first resynchronises SQN from RAND ‖ AUTS (TS 33.102 §6.3.5).
	AuthVector(ctx context.Context, impi string, resync *Resync) (Vector, GUSS, error)
}

// Resync is the UE's synchronisation failure report: the RAND of the rejected challenge and
// the AUTS it sent (RFC 3310 §3; Zh SIP-Authorization = RAND ‖ AUTS).
type Resync struct {
	RAND []byte // 16 octets
	AUTS []byte // 14 octets
}

// ErrUnknownIMPI is returned when the private identity has no subscription
// (Zh DIAMETER_ERROR_IDENTITY_UNKNOWN 5401).
var ErrUnknownIMPI = errors.New("unknown private identity")

// LocalVectors is a VectorSource computing Milenage vectors from subscriber data (K, OPc,
// AMF, SQN of configs.Subscribers). SQNs live in memory and start from the configured value;
// after a restart the UE's resynchronisation (AUTS) brings them forward.
type LocalVectors struct {
	mu   sync.Mutex
	subs map[string]*localSub
}

type localSub struct {
	k, opc []byte
	amf    uint16
	sqn    uint64
	impus  []string
}

var _ VectorSource = (*LocalVectors)(nil)

// sqnStep is the SQN increment per vector: SEQ moves by one with a 5-bit IND (TS 33.102 C.1.1).
const sqnStep = 1 << 5

// NewLocalVectors builds a local store from subscribers with K and OPc set; those without
// are skipped (they cannot bootstrap).
func NewLocalVectors(subs *configs.Subscribers) (*LocalVectors, error) {
	if subs == nil {
		return nil, errors.New("bsf: local vectors need subscribers")
	}
	lv := &LocalVectors{subs: map[string]*localSub{}}
	for i, s := range subs.Subscribers {
		if s.K == "" || s.OPc == "" {
			continue
		}
		at := func(key string) string { return fmt.Sprintf("subscribers[%d].%s", i, key) }
		k, err := hex.DecodeString(s.K)
		if err != nil || len(k) != 16 {
			return nil, fmt.Errorf("%s: not 32 hex digits", at("k"))
		}
		opc, err := hex.DecodeString(s.OPc)
		if err != nil || len(opc) != 16 {
			return nil, fmt.Errorf("%s: not 32 hex digits", at("opc"))
		}
		ls := &localSub{k: k, opc: opc, amf: 0x8000, impus: append([]string(nil), s.IMPUs...)}
		if s.AMF != "" {
			v, err := strconv.ParseUint(s.AMF, 16, 16)
			if err != nil {
				return nil, fmt.Errorf("%s: not 4 hex digits", at("amf"))
			}
			ls.amf = uint16(v)
		}
		if s.SQN != "" {
			v, err := strconv.ParseUint(s.SQN, 16, 48)
			if err != nil {
				return nil, fmt.Errorf("%s: not 12 hex digits", at("sqn"))
			}
			ls.sqn = v
		}
		lv.subs[s.IMPI] = ls
	}
	return lv, nil
}

// AuthVector implements VectorSource.
func (lv *LocalVectors) AuthVector(ctx context.Context, impi string, resync *Resync) (Vector, GUSS, error) {
	if err := ctx.Err(); err != nil {
		return Vector{}, GUSS{}, err
	}
	lv.mu.Lock()
	defer lv.mu.Unlock()
	s, ok := lv.subs[impi]
	if !ok {
		return Vector{}, GUSS{}, fmt.Errorf("vector for %s: %w", impi, ErrUnknownIMPI)
	}
	if resync != nil {
		sqnMS, err := ResyncSQN(s.k, s.opc, resync.RAND, resync.AUTS)
		if err != nil {
			return Vector{}, GUSS{}, fmt.Errorf("resync %s: %w", impi, err)
		}
		s.sqn = sqnMS
	}
	s.sqn = (s.sqn + sqnStep) & maxSQN
	r := make([]byte, 16)
	if _, err := rand.Read(r); err != nil {
		return Vector{}, GUSS{}, fmt.Errorf("vector for %s: %w", impi, err)
	}
	v, err := GenerateVector(s.k, s.opc, r, s.sqn, s.amf)
	if err != nil {
		return Vector{}, GUSS{}, fmt.Errorf("vector for %s: %w", impi, err)
	}
	return v, GUSS{USS: []USS{{ID: "1", UIDs: append([]string(nil), s.impus...)}}}, nil
}
