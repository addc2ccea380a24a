package bsf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	gdict "github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
)

// ZnServer answers Bootstrapping-Info requests (TS 29.109 §6.2) from a KeyService, normally
// the BSF. Register it for (dict.Zn, dict.BootstrappingInfo) on a diameter/peer Mux:
// mux.Handle(dict.Zn, dict.BootstrappingInfo, peer.HandlerFunc(zn.ServeDiameter)).
type ZnServer struct {
	local DiameterPeer
	keys  KeyService
	log   *slog.Logger
}

// NewZnServer answers with Origin-Host/Realm from cfg (bsf.zn).
func NewZnServer(cfg DiameterPeer, keys KeyService, log *slog.Logger) (*ZnServer, error) {
	if keys == nil || log == nil {
		return nil, errors.New("bsf.zn: keys and log are required")
	}
	if cfg.OriginHost == "" || cfg.OriginRealm == "" {
		return nil, errors.New("bsf.zn: origin_host and origin_realm are required")
	}
	return &ZnServer{local: cfg, keys: keys, log: log.With("component", "zn")}, nil
}

// ServeDiameter answers a BIR with a BIA. Every outcome is an answer: 5403 for an unknown or
// expired B-TID, 5402 for a NAF the BSF does not serve, 5005 for a missing AVP, 5012 else.
func (z *ZnServer) ServeDiameter(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	btid := octets(peer.Find(req.AVP, dict.AVPTransactionIdentifier, dict.Vendor3GPP))
	nafID := octets(peer.Find(req.AVP, dict.AVPNAFID, dict.Vendor3GPP))
	if btid == nil {
		return z.answer(req, &peer.ResultError{Code: dict.MissingAVP}, peer.Vendor3GPP(dict.AVPTransactionIdentifier, true, datatype.OctetString(""))), nil
	}
	if nafID == nil {
		return z.answer(req, &peer.ResultError{Code: dict.MissingAVP}, peer.Vendor3GPP(dict.AVPNAFID, true, datatype.OctetString(""))), nil
	}
	k, err := z.keys.NAFKey(ctx, string(btid), string(nafID))
	if err != nil {
		a := z.answer(req, znResult(err))
		z.log.Log(ctx, levelForResult(a), "BIR refused", "btid", string(btid), "err", err)
		return a, nil
	}
	a := z.answer(req, nil)
	a.AddAVP(peer.Base(dict.AVPUserName, datatype.UTF8String(k.IMPI)))
	a.AddAVP(peer.Vendor3GPP(dict.AVPMEKeyMaterial, true, datatype.OctetString(k.Key)))
	a.AddAVP(peer.Vendor3GPP(dict.AVPKeyExpiryTime, true, datatype.Time(k.Expires)))
	a.AddAVP(peer.Vendor3GPP(dict.AVPBootstrapInfoCreationTime, true, datatype.Time(k.Created)))
	if len(k.USS) > 0 {
		uss, err := MarshalUSSList(k.USS)
		if err == nil {
			a.AddAVP(peer.Vendor3GPP(dict.AVPGBAUserSecSettings, true, datatype.OctetString(uss)))
		}
	}
	a.AddAVP(peer.Vendor3GPP(dict.AVPGBAType, true, datatype.Enumerated(0))) // 3G_GBA
	return a, nil
}

// znResult is the one place Zn errors become Diameter results.
func znResult(err error) *peer.ResultError {
	switch {
	case errors.Is(err, ErrBTIDUnknown):
		return &peer.ResultError{Experimental: dict.ErrorTransactionIdentifierInvalid}
	case errors.Is(err, ErrNAFNotAllowed):
		return &peer.ResultError{Experimental: dict.ErrorNotAuthorized}
	default:
		return &peer.ResultError{Code: dict.UnableToComply}
	}
}

func levelForResult(a *diam.Message) slog.Level {
	var dr *peer.ResultError
	if errors.As(peer.ResultOf(a), &dr) && dr.Code == dict.UnableToComply {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// answer starts a BIA: Session-Id, VSAI, result, Origin-Host/Realm (no Auth-Session-State on Zn).
func (z *ZnServer) answer(req *diam.Message, res *peer.ResultError, failed ...*diam.AVP) *diam.Message {
	flags := req.Header.CommandFlags &^ (diam.RequestFlag | diam.RetransmittedFlag | diam.ErrorFlag)
	if res != nil && res.Code >= 3000 && res.Code < 4000 {
		flags |= diam.ErrorFlag
	}
	a := diam.NewMessage(req.Header.CommandCode, flags, req.Header.ApplicationID, req.Header.HopByHopID, req.Header.EndToEndID, req.Dictionary())
	if s := peer.Find(req.AVP, dict.AVPSessionID, 0); s != nil {
		a.AddAVP(s)
	}
	a.AddAVP(peer.VSAI(dict.Zn))
	switch {
	case res == nil:
		a.AddAVP(peer.Base(dict.AVPResultCode, datatype.Unsigned32(dict.Success)))
	case res.Code != 0:
		a.AddAVP(peer.Base(dict.AVPResultCode, datatype.Unsigned32(res.Code)))
	default:
		a.AddAVP(peer.Base(dict.AVPExperimentalResult, &diam.GroupedAVP{AVP: []*diam.AVP{
			peer.Base(dict.AVPVendorID, datatype.Unsigned32(res.Experimental.Vendor)),
			peer.Base(dict.AVPExperimentalResultCode, datatype.Unsigned32(res.Experimental.Code)),
		}}))
	}
	z.local.addOrigin(a)
	if len(failed) > 0 {
		a.AddAVP(peer.Base(dict.AVPFailedAVP, &diam.GroupedAVP{AVP: failed}))
	}
	return a
}

// ZnClient is a KeyService for a NAF that asks the BSF over Zn (BIR/BIA, TS 29.109 §6.2).
// The AuthProxy caches its answers until Key-ExpiryTime.
type ZnClient struct {
	peer DiameterPeer
	req  Requester
	dict *gdict.Parser
	sids *peer.SessionIDs
}

var _ KeyService = (*ZnClient)(nil)

// NewZnClient sends BIRs built from cfg (authproxy.zn) through req (a diameter/peer Client
// connected to the BSF with a dict.New(dict.Zn) dictionary).
func NewZnClient(cfg DiameterPeer, req Requester) (*ZnClient, error) {
	if req == nil {
		return nil, errors.New("authproxy.zn: no Diameter client")
	}
	if cfg.OriginHost == "" || cfg.OriginRealm == "" || cfg.DestinationRealm == "" {
		return nil, errors.New("authproxy.zn: origin_host, origin_realm and destination_realm are required")
	}
	d, err := dict.New(dict.Zn)
	if err != nil {
		return nil, err
	}
	return &ZnClient{peer: cfg, req: req, dict: d, sids: peer.NewSessionIDs(cfg.OriginHost)}, nil
}

// BIR builds the Bootstrapping-Info-Request (TS 29.109 §6.2.1).
func (z *ZnClient) BIR(btid, nafID string) *diam.Message {
	m := diam.NewRequest(dict.BootstrappingInfo, uint32(dict.Zn), z.dict)
	m.AddAVP(peer.Base(dict.AVPSessionID, datatype.UTF8String(z.sids.Next())))
	m.AddAVP(peer.VSAI(dict.Zn))
	z.peer.addOrigin(m)
	z.peer.addDestination(m)
	m.AddAVP(peer.Vendor3GPP(dict.AVPTransactionIdentifier, true, datatype.OctetString(btid)))
	m.AddAVP(peer.Vendor3GPP(dict.AVPNAFID, true, datatype.OctetString(nafID)))
	m.AddAVP(peer.Vendor3GPP(dict.AVPGBAUAwarenessIndicator, true, datatype.Enumerated(0))) // NO: a GBA_ME NAF
	return m
}

// NAFKey implements KeyService with one BIR/BIA exchange.
func (z *ZnClient) NAFKey(ctx context.Context, btid, nafID string) (NAFKey, error) {
	a, err := z.req.Request(ctx, z.BIR(btid, nafID))
	if err != nil {
		return NAFKey{}, fmt.Errorf("Zn BIR for %s: %w: %w", btid, ErrZnUnavailable, err)
	}
	return parseBIA(a, btid)
}

// parseBIA reads a BIA (TS 29.109 §6.2.2) and maps its result.
func parseBIA(a *diam.Message, btid string) (NAFKey, error) {
	if err := peer.ResultOf(a); err != nil {
		var dr *peer.ResultError
		if errors.As(err, &dr) {
			switch dr.Experimental {
			case dict.ErrorTransactionIdentifierInvalid:
				return NAFKey{}, fmt.Errorf("Zn BIA for %s: %s: %w", btid, dr, ErrBTIDUnknown)
			case dict.ErrorNotAuthorized:
				return NAFKey{}, fmt.Errorf("Zn BIA for %s: %s: %w", btid, dr, ErrNAFNotAllowed)
			}
		}
		return NAFKey{}, fmt.Errorf("Zn BIA for %s: %w: %w", btid, ErrZnUnavailable, err)
	}
	k := NAFKey{
		BTID: btid,
		IMPI: string(octets(peer.Find(a.AVP, dict.AVPUserName, 0))),
		Key:  octets(peer.Find(a.AVP, dict.AVPMEKeyMaterial, dict.Vendor3GPP)),
	}
	var ok bool
	if k.Expires, ok = avpTime(peer.Find(a.AVP, dict.AVPKeyExpiryTime, dict.Vendor3GPP)); !ok || len(k.Key) != 32 || k.IMPI == "" {
		return NAFKey{}, fmt.Errorf("Zn BIA for %s: no ME-Key-Material, User-Name or Key-ExpiryTime: %w", btid, ErrZnUnavailable)
	}
	k.Created, _ = avpTime(peer.Find(a.AVP, dict.AVPBootstrapInfoCreationTime, dict.Vendor3GPP))
	if b := octets(peer.Find(a.AVP, dict.AVPGBAUserSecSettings, dict.Vendor3GPP)); len(b) > 0 {
		uss, err := ParseUSSList(b)
		if err != nil {
			return NAFKey{}, fmt.Errorf("Zn BIA for %s: %w: %w", btid, ErrZnUnavailable, err)
		}
		k.USS = uss
	}
	return k, nil
}
