package hss

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
	"github.com/imsps/imsps/diameter/shdata"
)

// userOf resolves User-Identity (TS 29.329 §6.3.1) to a subscriber. Callers hold h.db.mu.
// It returns the identity used and whether it was an MSISDN.
func (h *HSS) userOf(req *diam.Message) (sub *subscriber, id string, byMSISDN bool, err error) {
	ui := peer.Children(peer.Find(req.AVP, dict.AVPUserIdentity, dict.Vendor3GPP))
	pub, hasPub := peer.String(peer.Find(ui, dict.AVPPublicIdentity, dict.Vendor3GPP))
	msisdnRaw, hasMSISDN := peer.Bytes(peer.Find(ui, dict.AVPMSISDN, dict.Vendor3GPP))
	var msisdn string
	if hasMSISDN {
		msisdn = decodeTBCD(msisdnRaw)
	}
	switch {
	case hasPub:
		s, ok := h.db.byPublic(pub)
		if !ok {
			return nil, "", false, peer.Experimental(dict.ErrorUserUnknown)
		}
		if hasMSISDN {
			if m, ok := h.db.byMSISDN[msisdn]; !ok || m != s {
				return nil, "", false, peer.Experimental(dict.ErrorIdentitiesDontMatch)
			}
		}
		sub, id = s, pub
	case hasMSISDN:
		s, ok := h.db.byMSISDN[msisdn]
		if !ok {
			return nil, "", false, peer.Experimental(dict.ErrorUserUnknown)
		}
		sub, id, byMSISDN = s, msisdn, true
	default:
		return nil, "", false, peer.Result(dict.MissingAVP, "User-Identity without Public-Identity or MSISDN",
			peer.Vendor3GPP(dict.AVPPublicIdentity, true, datatype.UTF8String("")))
	}
	if sub.unavailable {
		return nil, "", false, peer.Experimental(dict.UserDataNotAvailable)
	}
	return sub, id, byMSISDN, nil
}

// decodeTBCD turns TBCD octets (TS 29.002) into digits; filler nibbles F end the number.
func decodeTBCD(b []byte) string {
	var s strings.Builder
	for _, o := range b {
		for _, n := range []byte{o & 0x0f, o >> 4} {
			if n == 0x0f {
				return s.String()
			}
			s.WriteByte("0123456789*#abc"[n])
		}
	}
	return s.String()
}

func dataRefs(req *diam.Message) []dict.DataReference {
	var out []dict.DataReference
	for _, a := range peer.FindAll(req.AVP, dict.AVPDataReference, dict.Vendor3GPP) {
		if v, ok := peer.Uint32(a); ok {
			out = append(out, dict.DataReference(v))
		}
	}
	return out
}

func serviceIndications(req *diam.Message) []string {
	var out []string
	for _, a := range peer.FindAll(req.AVP, dict.AVPServiceIndication, dict.Vendor3GPP) {
		if s, ok := peer.String(a); ok {
			out = append(out, s)
		}
	}
	return out
}

// render builds the Sh-Data answering refs. Callers hold h.db.mu.
func (h *HSS) render(sub *subscriber, refs []dict.DataReference, sis []string, byMSISDN bool) (*shdata.Data, error) {
	d := &shdata.Data{}
	for _, r := range refs {
		switch r {
		case dict.RepositoryData:
			if len(sis) == 0 {
				return nil, peer.Result(dict.MissingAVP, "RepositoryData needs Service-Indication",
					peer.Vendor3GPP(dict.AVPServiceIndication, true, datatype.OctetString("")))
			}
			for _, si := range sis {
				if e, ok := sub.repo[si]; ok {
					d.RepositoryData = append(d.RepositoryData, shdata.RepositoryData{ServiceIndication: si, SequenceNumber: e.seq, ServiceData: e.data})
				}
			}
		case dict.IMSPublicIdentity:
			if d.PublicIdentifiers == nil {
				d.PublicIdentifiers = &shdata.PublicIdentifiers{}
			}
			d.PublicIdentifiers.IMSPublicIdentity = slices.Clone(sub.impus)
		case dict.MSISDN:
			if d.PublicIdentifiers == nil {
				d.PublicIdentifiers = &shdata.PublicIdentifiers{}
			}
			d.PublicIdentifiers.MSISDN = slices.Clone(sub.msisdns)
		case dict.IMSUserState:
			if byMSISDN {
				return nil, peer.Experimental(dict.ErrorOperationNotAllowed) // IMPU only (TS 29.328 Table 7.6.1)
			}
			if d.IMSData == nil {
				d.IMSData = &shdata.IMSData{}
			}
			st := sub.state
			d.IMSData.IMSUserState = &st
		case dict.SCSCFName:
			if d.IMSData == nil {
				d.IMSData = &shdata.IMSData{}
			}
			if sub.state == as.Registered || sub.state == as.RegisteredUnregServices {
				d.IMSData.SCSCFName = h.cfg.SCSCFName
			}
		case dict.DSAI:
			return nil, peer.Experimental(dict.ErrorDSAINotAvailable)
		default:
			return nil, peer.Experimental(dict.ErrorUserDataCannotBeRead)
		}
	}
	return d, nil
}

// serveUDR answers User-Data-Request (TS 29.328 §6.1.1).
func (h *HSS) serveUDR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	if err := h.checkCommon(req, [2]uint32{dict.AVPUserIdentity, dict.Vendor3GPP}, [2]uint32{dict.AVPDataReference, dict.Vendor3GPP}); err != nil {
		return nil, err
	}
	refs := dataRefs(req)
	if slices.Contains(refs, dict.InitialFilterCriteria) && peer.Find(req.AVP, dict.AVPServerName, dict.Vendor3GPP) == nil {
		return nil, peer.Result(dict.MissingAVP, "InitialFilterCriteria needs Server-Name", peer.Vendor3GPP(dict.AVPServerName, true, datatype.UTF8String("")))
	}
	h.db.mu.Lock()
	sub, _, byMSISDN, err := h.userOf(req)
	var d *shdata.Data
	if err == nil {
		d, err = h.render(sub, refs, serviceIndications(req), byMSISDN)
	}
	h.db.mu.Unlock()
	if err != nil {
		return nil, err
	}
	a := peer.NewAnswer(ctx, req)
	a.AddAVP(peer.Vendor3GPP(dict.AVPUserData, true, datatype.OctetString(d.Marshal())))
	return a, nil
}

// servePUR answers Profile-Update-Request (TS 29.328 §6.1.2) for RepositoryData with the
// SequenceNumber rules of §6.1.2.1, then notifies the other subscribed ASs.
func (h *HSS) servePUR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	if err := h.checkCommon(req, [2]uint32{dict.AVPUserIdentity, dict.Vendor3GPP}, [2]uint32{dict.AVPDataReference, dict.Vendor3GPP}, [2]uint32{dict.AVPUserData, dict.Vendor3GPP}); err != nil {
		return nil, err
	}
	refs := dataRefs(req)
	if len(refs) > 1 {
		return nil, peer.Experimental(dict.ErrorFeatureUnsupported) // needs Update-Eff-Enhance
	}
	if refs[0] != dict.RepositoryData {
		return nil, peer.Experimental(dict.ErrorUserDataCannotBeModified)
	}
	b, _ := peer.Bytes(peer.Find(req.AVP, dict.AVPUserData, dict.Vendor3GPP))
	doc, err := shdata.ParseData(b)
	if err != nil || len(doc.RepositoryData) != 1 {
		return nil, peer.Experimental(dict.ErrorUserDataNotRecognized)
	}
	rd := doc.RepositoryData[0]
	if len(rd.ServiceData) > h.cfg.MaxRepositoryData {
		return nil, peer.Experimental(dict.ErrorTooMuchData)
	}
	h.db.mu.Lock()
	sub, _, _, err := h.userOf(req)
	if err == nil {
		err = h.updateRepository(sub, rd)
	}
	h.db.mu.Unlock()
	if err != nil {
		return nil, err
	}
	writer, _ := peer.String(peer.Find(req.AVP, dict.AVPOriginHost, 0))
	go h.push(context.WithoutCancel(ctx), sub, writer, dict.RepositoryData, rd.ServiceIndication, func(d *shdata.Data) {
		d.RepositoryData = []shdata.RepositoryData{rd}
	})
	a := peer.NewAnswer(ctx, req)
	a.AddAVP(peer.Vendor3GPP(dict.AVPRepositoryDataID, false, &diam.GroupedAVP{AVP: []*diam.AVP{
		peer.Vendor3GPP(dict.AVPServiceIndication, true, datatype.OctetString(rd.ServiceIndication)),
		peer.Vendor3GPP(dict.AVPSequenceNumber, false, datatype.Unsigned32(rd.SequenceNumber)),
	}}))
	return a, nil
}

// updateRepository applies TS 29.328 §6.1.2.1: create with 0, update with stored+1
// (65535 wraps to 1), delete without ServiceData; anything else is out of sync (5105).
// Callers hold h.db.mu.
func (h *HSS) updateRepository(sub *subscriber, rd shdata.RepositoryData) error {
	if sub.locked[rd.ServiceIndication] {
		return peer.Experimental(dict.PriorUpdateInProgress)
	}
	cur, exists := sub.repo[rd.ServiceIndication]
	switch {
	case !exists && rd.SequenceNumber != 0:
		return peer.Experimental(dict.ErrorTransparentDataOutOfSync)
	case exists && rd.SequenceNumber != shdata.NextSequence(cur.seq):
		return peer.Experimental(dict.ErrorTransparentDataOutOfSync)
	}
	if rd.ServiceData == nil {
		delete(sub.repo, rd.ServiceIndication)
		return nil
	}
	sub.repo[rd.ServiceIndication] = &repoEntry{seq: rd.SequenceNumber, data: rd.ServiceData}
	return nil
}

// subscribable tells the Data-References an AS may subscribe to here (TS 29.328 Table 7.6.1).
func subscribable(r dict.DataReference) bool {
	switch r {
	case dict.RepositoryData, dict.IMSPublicIdentity, dict.IMSUserState, dict.SCSCFName:
		return true
	}
	return false
}

// serveSNR answers Subscribe-Notifications-Request (TS 29.328 §6.1.3).
func (h *HSS) serveSNR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	if err := h.checkCommon(req, [2]uint32{dict.AVPUserIdentity, dict.Vendor3GPP}, [2]uint32{dict.AVPSubsReqType, dict.Vendor3GPP}, [2]uint32{dict.AVPDataReference, dict.Vendor3GPP}); err != nil {
		return nil, err
	}
	kind, _ := peer.Uint32(peer.Find(req.AVP, dict.AVPSubsReqType, dict.Vendor3GPP))
	if int32(kind) != dict.Subscribe && int32(kind) != dict.Unsubscribe {
		return nil, peer.Result(dict.InvalidAVPValue, "Subs-Req-Type", peer.Find(req.AVP, dict.AVPSubsReqType, dict.Vendor3GPP))
	}
	refs := dataRefs(req)
	sis := serviceIndications(req)
	for _, r := range refs {
		if !subscribable(r) {
			return nil, peer.Experimental(dict.ErrorUserDataCannotBeNotified)
		}
		if r == dict.RepositoryData && len(sis) == 0 {
			return nil, peer.Result(dict.MissingAVP, "RepositoryData needs Service-Indication", peer.Vendor3GPP(dict.AVPServiceIndication, true, datatype.OctetString("")))
		}
	}
	asHost, _ := peer.String(peer.Find(req.AVP, dict.AVPOriginHost, 0))
	asRealm, _ := peer.String(peer.Find(req.AVP, dict.AVPOriginRealm, 0))
	expires := time.Now().Add(h.cfg.MaxSubscriptionExpiry)
	if e := peer.Find(req.AVP, dict.AVPExpiryTime, dict.Vendor3GPP); e != nil {
		if t, ok := e.Data.(datatype.Time); ok && time.Time(t).Before(expires) {
			expires = time.Time(t)
		}
	}
	sendData := false
	if v, ok := peer.Uint32(peer.Find(req.AVP, dict.AVPSendDataIndication, dict.Vendor3GPP)); ok && int32(v) == dict.UserDataRequested {
		sendData = true
	}

	h.db.mu.Lock()
	sub, id, byMSISDN, err := h.userOf(req)
	var d *shdata.Data
	if err == nil {
		if byMSISDN && slices.Contains(refs, dict.IMSUserState) {
			err = peer.Experimental(dict.ErrorOperationNotAllowed)
		}
	}
	if err == nil && int32(kind) == dict.Subscribe && slices.Contains(refs, dict.RepositoryData) {
		for _, si := range sis {
			if _, ok := sub.repo[si]; !ok {
				err = peer.Experimental(dict.ErrorSubsDataAbsent)
			}
		}
	}
	if err == nil && sendData {
		d, err = h.render(sub, refs, sis, byMSISDN)
	}
	h.db.mu.Unlock()
	if err != nil {
		return nil, err
	}

	k := subKey{as: asHost, sub: sub}
	h.smu.Lock()
	s := h.subs[k]
	if int32(kind) == dict.Subscribe {
		if s == nil {
			s = &subscription{refs: map[dict.DataReference]bool{}, sis: map[string]bool{}}
			h.subs[k] = s
		}
		s.realm, s.impu, s.expires = asRealm, id, expires
		for _, r := range refs {
			s.refs[r] = true
		}
		for _, si := range sis {
			s.sis[si] = true
		}
	} else if s != nil {
		for _, r := range refs {
			delete(s.refs, r)
		}
		if len(s.refs) == 0 {
			delete(h.subs, k)
		}
	}
	h.smu.Unlock()

	a := peer.NewAnswer(ctx, req)
	if d != nil {
		a.AddAVP(peer.Vendor3GPP(dict.AVPUserData, true, datatype.OctetString(d.Marshal())))
	}
	if int32(kind) == dict.Subscribe {
		a.AddAVP(peer.Vendor3GPP(dict.AVPExpiryTime, false, datatype.Time(expires)))
	}
	return a, nil
}

// Subscriptions reports how many AS subscriptions the simulator holds for impu's subscriber.
func (h *HSS) Subscriptions(impu as.AOR) (n int, latest time.Time) {
	h.db.mu.Lock()
	sub, ok := h.db.byPublic(string(impu))
	h.db.mu.Unlock()
	if !ok {
		return 0, time.Time{}
	}
	h.smu.Lock()
	defer h.smu.Unlock()
	for k, s := range h.subs {
		if k.sub == sub {
			n++
			if s.expires.After(latest) {
				latest = s.expires
			}
		}
	}
	return n, latest
}

func (h *HSS) String() string { return fmt.Sprintf("HSS simulator %s", h.cfg.OriginHost) }
