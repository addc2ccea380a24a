package isc

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/imsps/imsps/as"
)

// subscribe handles SUBSCRIBE (RFC 6665 §4.2.1, RFC 3856): initial, refresh, unsubscribe
// and fetch are the presence core's to tell apart. The 200 carries the dialog's To-tag, our
// Contact and the granted Expires; the first NOTIFY follows once the 200 is on the wire.
func (s *Server) subscribe(ctx context.Context, req *sip.Request) (reply, error) {
	sr, err := s.subscribeRequest(req)
	if err != nil {
		return reply{}, err
	}
	result, err := s.p.Subscribe(ctx, sr)
	if err != nil {
		return reply{}, fmt.Errorf("subscribe %s to %s: %w", sr.Watcher, sr.Resource, err)
	}
	if result.LocalTag == "" || !safeValue(result.LocalTag) {
		return reply{}, fmt.Errorf("subscribe %s: presence core returned no usable dialog tag", sr.Dialog.CallID)
	}
	res := s.ok(req)
	if to := res.To(); to != nil {
		to.Params.Add("tag", result.LocalTag)
	}
	res.AppendHeader(&sip.ContactHeader{Address: s.n.contact(sr.Dialog.Transport)})
	setHeader(res, hdrExpires, strconv.Itoa(seconds(result.Expires)))
	s.log.Debug("subscribed", "aor", logAOR(sr.Resource), "call_id", sr.Dialog.CallID, "event", sr.Event, "expires", seconds(result.Expires))
	return reply{res: res, onSent: result.Activate}, nil
}

// subscribeRequest reads a SUBSCRIBE into an as.SubscribeRequest: the dialog as seen by
// imsps (RFC 3261 §12.1.1: local = To, remote = From, remote target = Contact, route set
// = Record-Route in order).
func (s *Server) subscribeRequest(req *sip.Request) (as.SubscribeRequest, error) {
	sr := as.SubscribeRequest{Expires: -1}
	f := readFields(req)
	if err := checkRequire(f.require); err != nil {
		return sr, err
	}
	from, to, cid := req.From(), req.To(), req.CallID()
	if from == nil || to == nil || cid == nil {
		return sr, headerError("From/To/Call-ID", "", "missing")
	}
	remoteTag, _ := from.Params.Get("tag")
	if remoteTag == "" {
		return sr, headerError("From", from.Value(), "no tag (RFC 3261 §8.1.1.3)")
	}
	localTag, _ := to.Params.Get("tag")
	sr.Dialog = as.Dialog{
		CallID:    cid.Value(),
		LocalTag:  localTag,
		RemoteTag: remoteTag,
		LocalURI:  nameAddr(to.DisplayName, to.Address, to.Params),
		RemoteURI: nameAddr(from.DisplayName, from.Address, from.Params),
		RouteSet:  recordRoutes(req),
		Transport: strings.ToLower(req.Transport()),
		Source:    req.Source(),
	}
	if c := req.Contact(); c != nil {
		if c.Address.Wildcard || c.Address.Host == "" {
			return sr, headerError("Contact", c.Value(), "not a SIP URI")
		}
		sr.Dialog.RemoteTarget = uriString(c.Address)
	} else if localTag == "" {
		return sr, headerError("Contact", "", "missing in SUBSCRIBE (RFC 6665 §4.1.2.1)")
	}
	sr.Resource = uriString(s.requestTarget(req))
	sr.Watcher, _ = s.identity(req, f.assertedIdentity)
	if f.hasEvent {
		ev, err := parseEvent(f.event)
		if err != nil {
			return sr, err
		}
		sr.Event, sr.EventID = ev.Package, ev.ID
	}
	if f.hasExpires {
		n, err := parseExpires(f.expires)
		if err != nil {
			return sr, err
		}
		sr.Expires = n
	}
	accept, err := parseAccept(f.accept)
	if err != nil {
		return sr, err
	}
	sr.Accept = accept
	// P-Charging-Vector is a trust-domain header like P-Asserted-Identity (RFC 7315 §4).
	if s.trustedSource(req.Source()) {
		if f.hasPCV {
			if pcv, err := parseChargingVector(f.chargingVector); err == nil {
				sr.ChargingVector = pcv
			} else {
				s.log.Debug("ignoring P-Charging-Vector", "call_id", sr.Dialog.CallID, "err", err)
			}
		}
	}
	return sr, nil
}

// nameAddr prints a name-addr without its tag parameter.
func nameAddr(display string, u sip.Uri, params sip.HeaderParams) string {
	var b strings.Builder
	if display != "" {
		b.WriteString(`"`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(display))
		b.WriteString(`" `)
	}
	b.WriteString("<")
	b.WriteString(uriString(u))
	b.WriteString(">")
	for _, kv := range params {
		if strings.EqualFold(kv.K, "tag") {
			continue
		}
		b.WriteString(";")
		b.WriteString(kv.K)
		if kv.V != "" {
			b.WriteString("=")
			b.WriteString(kv.V)
		}
	}
	return b.String()
}
