package sh

import (
	"context"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
)

// servePNR handles the HSS's Push-Notification-Request (TS 29.328 §6.1.4): an IMSUserState
// change updates the cached subscriber and reaches the user state listener; any other data
// invalidates the cached entry. A PNR for a user we never subscribed to gets
// DIAMETER_ERROR_NO_SUBSCRIPTION_TO_DATA, unparsable data DIAMETER_ERROR_USER_DATA_NOT_RECOGNIZED.
func (c *Client) servePNR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	if err := peer.RequireAVPs(req,
		[2]uint32{dict.AVPSessionID, 0}, [2]uint32{dict.AVPVendorSpecificApplicationID, 0},
		[2]uint32{dict.AVPAuthSessionState, 0}, [2]uint32{dict.AVPOriginHost, 0}, [2]uint32{dict.AVPOriginRealm, 0},
		[2]uint32{dict.AVPDestinationRealm, 0}, [2]uint32{dict.AVPUserIdentity, dict.Vendor3GPP},
		[2]uint32{dict.AVPUserData, dict.Vendor3GPP}); err != nil {
		return nil, err
	}
	pi, _ := peer.String(peer.Find(peer.Children(peer.Find(req.AVP, dict.AVPUserIdentity, dict.Vendor3GPP)), dict.AVPPublicIdentity, dict.Vendor3GPP))
	impu := as.AOR(pi)
	if impu == "" || !c.subscribed(impu) {
		return nil, peer.Experimental(dict.ErrorNoSubscriptionToData)
	}
	b, _ := peer.Bytes(peer.Find(req.AVP, dict.AVPUserData, dict.Vendor3GPP))
	d, err := ParseData(b)
	if err != nil {
		return nil, peer.Experimental(dict.ErrorUserDataNotRecognized)
	}
	if d.IMSData != nil && d.IMSData.IMSUserState != nil {
		st := *d.IMSData.IMSUserState
		old, sub, ok := c.cache.setState(impu, st)
		target := impu
		if ok {
			target = sub.Presentity
		}
		c.log.Info("sh: PNR user state", "impu", impu, "state", st.String())
		if !ok || old != st {
			c.notify(ctx, target, st)
		}
	} else {
		c.cache.invalidate(impu)
	}
	return peer.NewAnswer(ctx, req), nil
}
