package bsf

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	gdict "github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/imsps/imsps/diameter/dict"
)

// Requester sends a Diameter request and returns the answer; the diameter/peer Client (and
// Conn) satisfy it. Answers with error results come back as answers, not errors.
type Requester interface {
	Request(ctx context.Context, m *diam.Message) (*diam.Message, error)
}

const (
	flagM = 0x40
	flagV = 0x80
)

func baseAVP(code uint32, data datatype.Type) *diam.AVP { return diam.NewAVP(code, flagM, 0, data) }

// tgppAVP builds a vendor 10415 AVP with the V and M bits (TS 29.109 Table 6.1 marks them M,V).
func tgppAVP(code uint32, data datatype.Type) *diam.AVP {
	return diam.NewAVP(code, flagM|flagV, dict.Vendor3GPP, data)
}

func vsai(app dict.App) *diam.AVP {
	return baseAVP(dict.AVPVendorSpecificApplicationID, &diam.GroupedAVP{AVP: []*diam.AVP{
		baseAVP(dict.AVPVendorID, datatype.Unsigned32(dict.Vendor3GPP)),
		baseAVP(dict.AVPAuthApplicationID, datatype.Unsigned32(app)),
	}})
}

func findAVP(avps []*diam.AVP, code, vendor uint32) *diam.AVP {
	for _, a := range avps {
		if a.Code == code && a.VendorID == vendor {
			return a
		}
	}
	return nil
}

func children(a *diam.AVP) []*diam.AVP {
	if a == nil {
		return nil
	}
	if g, ok := a.Data.(*diam.GroupedAVP); ok {
		return g.AVP
	}
	return nil
}

func avpBytes(a *diam.AVP) []byte {
	if a == nil {
		return nil
	}
	switch v := a.Data.(type) {
	case datatype.OctetString:
		return []byte(v)
	case datatype.UTF8String:
		return []byte(v)
	case datatype.DiameterIdentity:
		return []byte(v)
	}
	return nil
}

func avpUint32(a *diam.AVP) (uint32, bool) {
	if a == nil {
		return 0, false
	}
	switch v := a.Data.(type) {
	case datatype.Unsigned32:
		return uint32(v), true
	case datatype.Enumerated:
		return uint32(v), true
	case datatype.Integer32:
		return uint32(v), true
	}
	return 0, false
}

func avpTime(a *diam.AVP) (time.Time, bool) {
	if a == nil {
		return time.Time{}, false
	}
	if v, ok := a.Data.(datatype.Time); ok {
		return time.Time(v).UTC(), true
	}
	return time.Time{}, false
}

// DiameterResult is an answer's outcome other than success: a base Result-Code or an
// Experimental-Result (TS 29.109 §6.3 sends its errors this way).
type DiameterResult struct {
	Code         dict.ResultCode
	Experimental dict.ExperimentalResult
}

func (r *DiameterResult) Error() string {
	if r.Code != 0 {
		return r.Code.String()
	}
	return r.Experimental.String()
}

// resultOf reads Result-Code / Experimental-Result: nil for 2xxx.
func resultOf(a *diam.Message) error {
	if rc, ok := avpUint32(findAVP(a.AVP, dict.AVPResultCode, 0)); ok {
		if rc >= 2000 && rc < 3000 {
			return nil
		}
		return &DiameterResult{Code: dict.ResultCode(rc)}
	}
	if er := findAVP(a.AVP, dict.AVPExperimentalResult, 0); er != nil {
		vendor, _ := avpUint32(findAVP(children(er), dict.AVPVendorID, 0))
		code, ok := avpUint32(findAVP(children(er), dict.AVPExperimentalResultCode, 0))
		if ok {
			if code >= 2000 && code < 3000 {
				return nil
			}
			return &DiameterResult{Experimental: dict.ExperimentalResult{Vendor: vendor, Code: code}}
		}
	}
	return fmt.Errorf("answer %d without Result-Code or Experimental-Result", a.Header.CommandCode)
}

// sessionIDs makes "<OriginHost>;<start>;<counter>" Session-Ids (RFC 6733 §8.8).
type sessionIDs struct {
	host string
	hi   uint32
	lo   atomic.Uint32
}

func newSessionIDs(host string) *sessionIDs {
	return &sessionIDs{host: host, hi: uint32(time.Now().Unix())}
}

func (s *sessionIDs) next() string { return fmt.Sprintf("%s;%d;%d", s.host, s.hi, s.lo.Add(1)) }

// addOrigin adds Origin-Host and Origin-Realm.
func (p DiameterPeer) addOrigin(m *diam.Message) {
	m.AddAVP(baseAVP(dict.AVPOriginHost, datatype.DiameterIdentity(p.OriginHost)))
	m.AddAVP(baseAVP(dict.AVPOriginRealm, datatype.DiameterIdentity(p.OriginRealm)))
}

// addDestination adds Destination-Realm and, when configured, Destination-Host.
func (p DiameterPeer) addDestination(m *diam.Message) {
	m.AddAVP(baseAVP(dict.AVPDestinationRealm, datatype.DiameterIdentity(p.DestinationRealm)))
	if p.DestinationHost != "" {
		m.AddAVP(baseAVP(dict.AVPDestinationHost, datatype.DiameterIdentity(p.DestinationHost)))
	}
}

// newParser is dict.New, named for the applications a bsf piece speaks.
func newParser(apps ...dict.App) (*gdict.Parser, error) { return dict.New(apps...) }
