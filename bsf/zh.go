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
)

// SchemeDigestAKAv1 is the SIP-Authentication-Scheme of a Zh MAR (TS 29.109 §6.1.1).
const SchemeDigestAKAv1 = "Digest-AKAv1-MD5"

// ZhClient is a VectorSource asking the HSS over Zh: MAR/MAA (TS 29.109 §6.1).
type ZhClient struct {
	peer DiameterPeer
	req  Requester
	dict *gdict.Parser
	sids *sessionIDs
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
	d, err := newParser(dict.Zh)
	if err != nil {
		return nil, err
	}
	return &ZhClient{peer: cfg, req: req, dict: d, sids: newSessionIDs(cfg.OriginHost)}, nil
}

// MAR builds the Multimedia-Auth-Request for an IMPI; with resync, SIP-Authorization
// carries RAND ‖ AUTS (TS 29.109 §6.1.1).
func (z *ZhClient) MAR(impi string, resync *Resync) *diam.Message {
	m := diam.NewRequest(dict.MultimediaAuth, uint32(dict.Zh), z.dict)
	m.AddAVP(baseAVP(dict.AVPSessionID, datatype.UTF8String(z.sids.next())))
	m.AddAVP(vsai(dict.Zh))
	m.AddAVP(baseAVP(dict.AVPAuthSessionState, datatype.Enumerated(dict.NoStateMaintained)))
	z.peer.addOrigin(m)
	z.peer.addDestination(m)
	m.AddAVP(baseAVP(dict.AVPUserName, datatype.UTF8String(impi)))
	m.AddAVP(tgppAVP(dict.AVPSIPNumberAuthItems, datatype.Unsigned32(1)))
	item := []*diam.AVP{tgppAVP(dict.AVPSIPAuthenticationScheme, datatype.UTF8String(SchemeDigestAKAv1))}
	if resync != nil {
		item = append(item, tgppAVP(dict.AVPSIPAuthorization, datatype.OctetString(append(bytes.Clone(resync.RAND), resync.AUTS...))))
	}
	m.AddAVP(tgppAVP(dict.AVPSIPAuthDataItem, &diam.GroupedAVP{AVP: item}))
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
	if err := resultOf(a); err != nil {
		var dr *DiameterResult
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
	item := children(findAVP(a.AVP, dict.AVPSIPAuthDataItem, dict.Vendor3GPP))
	authn := avpBytes(findAVP(item, dict.AVPSIPAuthenticate, dict.Vendor3GPP))
	v := Vector{
		XRES: avpBytes(findAVP(item, dict.AVPSIPAuthorization, dict.Vendor3GPP)),
		CK:   avpBytes(findAVP(item, dict.AVPConfidentialityKey, dict.Vendor3GPP)),
		IK:   avpBytes(findAVP(item, dict.AVPIntegrityKey, dict.Vendor3GPP)),
	}
	if len(authn) < 32 || len(v.XRES) == 0 || len(v.CK) != 16 || len(v.IK) != 16 {
		return Vector{}, GUSS{}, fmt.Errorf("Zh MAA for %s: incomplete SIP-Auth-Data-Item: %w", impi, ErrVectorsUnavailable)
	}
	v.RAND, v.AUTN = bytes.Clone(authn[:16]), bytes.Clone(authn[16:32])
	var guss GUSS
	if b := avpBytes(findAVP(a.AVP, dict.AVPGBAUserSecSettings, dict.Vendor3GPP)); len(b) > 0 {
		g, err := ParseGUSS(b)
		if err != nil {
			return Vector{}, GUSS{}, fmt.Errorf("Zh MAA for %s: %w: %w", impi, ErrVectorsUnavailable, err)
		}
		guss = g
	}
	return v, guss, nil
}
