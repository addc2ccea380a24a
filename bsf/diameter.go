package bsf

import (
	"context"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
)

// Requester sends a Diameter request and returns the answer; the diameter/peer Client (and
// Conn) satisfy it. Answers with error results come back as answers, not errors.
type Requester interface {
	Request(ctx context.Context, m *diam.Message) (*diam.Message, error)
}

// octets returns the bytes of an OctetString, UTF8String or DiameterIdentity AVP.
func octets(a *diam.AVP) []byte {
	v, _ := peer.String(a)
	return []byte(v)
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

// addOrigin adds Origin-Host and Origin-Realm.
func (p DiameterPeer) addOrigin(m *diam.Message) {
	m.AddAVP(peer.Base(dict.AVPOriginHost, datatype.DiameterIdentity(p.OriginHost)))
	m.AddAVP(peer.Base(dict.AVPOriginRealm, datatype.DiameterIdentity(p.OriginRealm)))
}

// addDestination adds Destination-Realm and, when configured, Destination-Host.
func (p DiameterPeer) addDestination(m *diam.Message) {
	m.AddAVP(peer.Base(dict.AVPDestinationRealm, datatype.DiameterIdentity(p.DestinationRealm)))
	if p.DestinationHost != "" {
		m.AddAVP(peer.Base(dict.AVPDestinationHost, datatype.DiameterIdentity(p.DestinationHost)))
	}
}
