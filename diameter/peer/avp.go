package peer

import (
	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imsps/imsps/diameter/dict"
)

// Find returns the first top-level AVP with that code and vendor, or nil.
func Find(avps []*diam.AVP, code, vendor uint32) *diam.AVP {
	for _, a := range avps {
		if a.Code == code && a.VendorID == vendor {
			return a
		}
	}
	return nil
}

// FindAll returns every top-level AVP with that code and vendor.
func FindAll(avps []*diam.AVP, code, vendor uint32) []*diam.AVP {
	var out []*diam.AVP
	for _, a := range avps {
		if a.Code == code && a.VendorID == vendor {
			out = append(out, a)
		}
	}
	return out
}

// Children returns the AVPs inside a Grouped AVP (nil when a is nil or not grouped).
func Children(a *diam.AVP) []*diam.AVP {
	if a == nil {
		return nil
	}
	if g, ok := a.Data.(*diam.GroupedAVP); ok {
		return g.AVP
	}
	return nil
}

// String returns the text of a UTF8String, OctetString or DiameterIdentity AVP.
func String(a *diam.AVP) (string, bool) {
	if a == nil {
		return "", false
	}
	switch v := a.Data.(type) {
	case datatype.UTF8String:
		return string(v), true
	case datatype.OctetString:
		return string(v), true
	case datatype.DiameterIdentity:
		return string(v), true
	case datatype.DiameterURI:
		return string(v), true
	}
	return "", false
}

// Bytes returns the octets of an OctetString AVP.
func Bytes(a *diam.AVP) ([]byte, bool) {
	if a == nil {
		return nil, false
	}
	if v, ok := a.Data.(datatype.OctetString); ok {
		return []byte(v), true
	}
	return nil, false
}

// Uint32 returns the value of an Unsigned32 or Enumerated AVP.
func Uint32(a *diam.AVP) (uint32, bool) {
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

// SessionID returns a message's Session-Id.
func SessionID(m *diam.Message) string {
	s, _ := String(Find(m.AVP, dict.AVPSessionID, 0))
	return s
}

// VSAI builds a Vendor-Specific-Application-Id {Vendor-Id 10415, Auth-Application-Id app}.
func VSAI(app dict.App) *diam.AVP {
	return diam.NewAVP(dict.AVPVendorSpecificApplicationID, mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(dict.AVPVendorID, mbit, 0, datatype.Unsigned32(dict.Vendor3GPP)),
		diam.NewAVP(dict.AVPAuthApplicationID, mbit, 0, datatype.Unsigned32(app)),
	}})
}

const (
	mbit = 0x40
	vbit = 0x80
)

// Vendor3GPP builds a 3GPP AVP with the V bit and, when mandatory is true, the M bit.
func Vendor3GPP(code uint32, mandatory bool, data datatype.Type) *diam.AVP {
	flags := uint8(vbit)
	if mandatory {
		flags |= mbit
	}
	return diam.NewAVP(code, flags, dict.Vendor3GPP, data)
}

// Base builds a base-protocol AVP with the M bit.
func Base(code uint32, data datatype.Type) *diam.AVP {
	return diam.NewAVP(code, mbit, 0, data)
}
