package hss

import (
	"fmt"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
)

// checkCommon validates what every Sh and Zh request carries, as a strict HSS does:
// mandatory AVPs present (5005), the Vendor-Specific-Application-Id naming the message's
// application (3007), Auth-Session-State NO_STATE_MAINTAINED (5004), a served
// Destination-Realm (3003) and, when present, our Destination-Host (3002).
func (h *HSS) checkCommon(req *diam.Message, extra ...[2]uint32) error {
	must := append([][2]uint32{
		{dict.AVPSessionID, 0}, {dict.AVPVendorSpecificApplicationID, 0}, {dict.AVPAuthSessionState, 0},
		{dict.AVPOriginHost, 0}, {dict.AVPOriginRealm, 0}, {dict.AVPDestinationRealm, 0},
	}, extra...)
	if err := peer.RequireAVPs(req, must...); err != nil {
		return err
	}
	vsai := peer.Find(req.AVP, dict.AVPVendorSpecificApplicationID, 0)
	app, ok := peer.Uint32(peer.Find(peer.Children(vsai), dict.AVPAuthApplicationID, 0))
	if !ok || app != req.Header.ApplicationID {
		return peer.Result(dict.ApplicationUnsupported, fmt.Sprintf("Vendor-Specific-Application-Id names %d, message is %d", app, req.Header.ApplicationID), vsai)
	}
	if st := peer.Find(req.AVP, dict.AVPAuthSessionState, 0); st != nil {
		if v, _ := peer.Uint32(st); int32(v) != dict.NoStateMaintained {
			return peer.Result(dict.InvalidAVPValue, "Auth-Session-State must be NO_STATE_MAINTAINED", st)
		}
	}
	realm, _ := peer.String(peer.Find(req.AVP, dict.AVPDestinationRealm, 0))
	if realm != h.cfg.OriginRealm {
		return peer.Result(dict.RealmNotServed, realm)
	}
	if host, ok := peer.String(peer.Find(req.AVP, dict.AVPDestinationHost, 0)); ok && host != h.cfg.OriginHost {
		return peer.Result(dict.UnableToDeliver, host)
	}
	return nil
}

func enumAVP(code uint32, v int32) *diam.AVP {
	return peer.Vendor3GPP(code, true, datatype.Enumerated(v))
}
