package bsf

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	gdict "github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
)

// SchemeDigestAKAv1 is the SIP-Authentication-Scheme of a Zh MAR (TS 29.109 §6.1.1).
const SchemeDigestAKAv1 = "Digest-AKAv1-MD5"

// ZhClient is a VectorSource asking the HSS over Zh: MAR/MAA (TS 29.109 §6.1).
type ZhClient struct {
	peer DiameterPeer
	req  Requester
	dict *gdict.Parser
	sids *peer.SessionIDs
}

var _ VectorSource = (*ZhClient)(nil)

// NewZhClient sends MARs built from cfg (bsf.zh: origin_host, origin_realm,
// destination_realm, destination_host) through req (a diameter/peer Client connected to the
// HSS with a dict.New(dict.Zh) dictionary).
func NewZhClient(cfg DiameterPeer, req Requester) (*ZhClient, error) {
	if req == nil {
		return nil, errors.New("bsf.zh: no Diameter client")
	}
	if cfg.OriginHost == "" || cfg.OriginRealm == "" || cfg.DestinationRealm == "" {
		return nil, errors.New("bsf.zh: origin_host, origin_realm and destination_realm are required")
	}
	d, err := dict.New(dict.Zh)
	if err != nil {
		return nil, err
	}
	return &ZhClient{peer: cfg, req: req, dict: d, sids: peer.NewSessionIDs(cfg.OriginHost)}, nil
}

// MAR builds the Multimedia-Auth-Request for an IMPI; with resync, SIP-Authorization
// carries RAND ‖ AUTS (TS 29.109 §6.1.1).
func (z *ZhClient) MAR(impi string, resync *Resync) *diam.Message {
	m := diam.NewRequest(dict.MultimediaAuth, uint32(dict.Zh), z.dict)
	m.AddAVP(peer.Base(dict.AVPSessionID, datatype.UTF8String(z.sids.Next())))
	m.AddAVP(peer.VSAI(dict.Zh))
	m.AddAVP(peer.Base(dict.AVPAuthSessionState, datatype.Enumerated(dict.NoStateMaintained)))
	z.peer.addOrigin(m)
	z.peer.addDestination(m)
	m.AddAVP(peer.Base(dict.AVPUserName, datatype.UTF8String(impi)))
	m.AddAVP(peer.Vendor3GPP(dict.AVPSIPNumberAuthItems, true, datatype.Unsigned32(1)))
	item := []*diam.AVP{peer.Vendor3GPP(dict.AVPSIPAuthenticationScheme, true, datatype.UTF8String(SchemeDigestAKAv1))}
	if resync != nil {
		item = append(item, peer.Vendor3GPP(dict.AVPSIPAuthorization, true, datatype.OctetString(append(bytes.Clone(resync.RAND), resync.AUTS...))))
	}
	m.AddAVP(peer.Vendor3GPP(dict.AVPSIPAuthDataItem, true, &diam.GroupedAVP{AVP: item}))
	return m
}

// AuthVector implements VectorSource with one MAR/MAA exchange.
func (z *ZhClient) AuthVector(ctx context.Context, impi string, resync *Resync) (Vector, GUSS, error) {
	a, err := z.req.Request(ctx, z.MAR(impi, resync))
	if err != nil {
		return Vector{}, GUSS{}, fmt.Errorf("Zh MAR for %s: %w: %w", impi, ErrVectorsUnavailable, err)
	}
	return parseMAA(a, impi, resync != nil)
}

// parseMAA reads the vector and GUSS of a MAA (TS 29.109 §6.1.2) and maps its result.
func parseMAA(a *diam.Message, impi string, resync bool) (Vector, GUSS, error) {
	if err := peer.ResultOf(a); err != nil {
		var dr *peer.ResultError
		if errors.As(err, &dr) {
			switch {
			case dr.Experimental == dict.ErrorIMPIUnknown, dr.Experimental == dict.ErrorUserUnknown:
				return Vector{}, GUSS{}, fmt.Errorf("Zh MAA for %s: %s: %w", impi, dr, ErrUnknownIMPI)
			case resync && dr.Code == dict.AuthenticationRejected:
				return Vector{}, GUSS{}, fmt.Errorf("Zh MAA for %s: %s: %w", impi, dr, ErrAUTSInvalid)
			}
		}
		return Vector{}, GUSS{}, fmt.Errorf("Zh MAA for %s: %w: %w", impi, ErrVectorsUnavailable, err)
	}
	item := peer.Children(peer.Find(a.AVP, dict.AVPSIPAuthDataItem, dict.Vendor3GPP))
	authn := octets(peer.Find(item, dict.AVPSIPAuthenticate, dict.Vendor3GPP))
	v := Vector{
		XRES: octets(peer.Find(item, dict.AVPSIPAuthorization, dict.Vendor3GPP)),
		CK:   octets(peer.Find(item, dict.AVPConfidentialityKey, dict.Vendor3GPP)),
		IK:   octets(peer.Find(item, dict.AVPIntegrityKey, dict.Vendor3GPP)),
	}
	if len(authn) < 32 || len(v.XRES) == 0 || len(v.CK) != 16 || len(v.IK) != 16 {
		return Vector{}, GUSS{}, fmt.Errorf("Zh MAA for %s: incomplete SIP-Auth-Data-Item: %w", impi, ErrVectorsUnavailable)
	}
	v.RAND, v.AUTN = bytes.Clone(authn[:16]), bytes.Clone(authn[16:32])
	var guss GUSS
	if b := octets(peer.Find(a.AVP, dict.AVPGBAUserSecSettings, dict.Vendor3GPP)); len(b) > 0 {
		g, err := ParseGUSS(b)
		if err != nil {
			return Vector{}, GUSS{}, fmt.Errorf("Zh MAA for %s: %w: %w", impi, ErrVectorsUnavailable, err)
		}
		guss = g
	}
	return v, guss, nil
}
