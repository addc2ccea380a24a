package as

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// restore loads publications, hard state and subscriptions from the store (called by
// NewAgent, before any request). Entries that expired while the server was down are
// deleted; their subscriptions still get a final NOTIFY. Every NOTIFY owed (one with the
// current state per live subscription, one "terminated;reason=timeout" per expired one) is
// armed on the timer heap, spread evenly over presence.restart_spread.
func (a *Agent) restore(ctx context.Context) error {
	var (
		pubs  []*pubRecord
		hards = map[AOR][]byte{}
		subs  []*subRecord
		bad   []string // undecodable keys, logged and left in place
	)
	err := a.st.View(ctx, func(tx Tx) error {
		pubs, subs, bad = pubs[:0], subs[:0], bad[:0]
		clear(hards)
		if err := tx.ForEach(BucketPublications, "p\x00", func(k string, v []byte) error {
			r, err := decodePublication(v)
			if err != nil {
				bad = append(bad, k)
				return nil
			}
			pubs = append(pubs, r)
			return nil
		}); err != nil {
			return err
		}
		if err := tx.ForEach(BucketPublications, "h\x00", func(k string, v []byte) error {
			hards[AOR(strings.TrimPrefix(k, "h\x00"))] = append([]byte(nil), v...)
			return nil
		}); err != nil {
			return err
		}
		return tx.ForEach(BucketSubscriptions, "", func(k string, v []byte) error {
			r, err := decodeSubscription(v)
			if err != nil || r.Dialog.LocalTag != k {
				bad = append(bad, k)
				return nil
			}
			subs = append(subs, r)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("as: restoring presence state: %w", err)
	}
	for _, k := range bad {
		a.log.Error("undecodable presence record ignored", "key", k)
	}

	now := a.now()
	nowNs := now.UnixNano()
	var expiredPubs, expiredSubs []string
	place := func(aor AOR) *presentity {
		sh := a.shardOf(aor)
		p := sh.m[aor]
		if p == nil {
			p = &presentity{aor: aor}
			sh.m[aor] = p
		}
		return p
	}
	for _, r := range pubs {
		if r.Expires <= nowNs {
			expiredPubs = append(expiredPubs, publicationKey(r.AOR, r.ID))
			continue
		}
		pk := a.packages[r.Event]
		if pk == nil {
			a.log.Warn("stored publication for an unregistered event ignored", "aor", r.AOR, "event", r.Event)
			continue
		}
		state, err := pk.Decode(r.ID, r.Body, time.Unix(0, r.Published))
		if err != nil {
			a.log.Warn("stored publication no longer decodes; ignored", "aor", r.AOR, "etag", r.ETag, "err", err)
			continue
		}
		p := place(r.AOR)
		pb := &publication{p: p, id: r.ID, etag: r.ETag, event: r.Event, publisher: r.Publisher,
			ctype: r.ContentType, expires: r.Expires, published: r.Published, body: r.Body, state: state}
		pb.timer = timerSlot{kind: timerPublicationExpiry, pub: pb}
		p.pubs = append(p.pubs, pb)
		a.timers.set(&pb.timer, pb.expires)
		a.restored.publications++
	}
	if pk := a.packages["presence"]; pk != nil {
		for aor, body := range hards {
			state, err := pk.Decode("", body, now)
			if err != nil {
				a.log.Warn("stored hard state no longer decodes; ignored", "aor", aor, "err", err)
				continue
			}
			place(aor).hard = state
		}
	}

	owed := make([]*subscription, 0, len(subs))
	for _, r := range subs {
		pk := a.packages[r.Event]
		if pk == nil {
			a.log.Warn("stored subscription for an unregistered event ignored", "aor", r.Presentity, "event", r.Event)
			continue
		}
		var p *presentity
		if r.Expires > nowNs {
			p = place(r.Presentity)
		} else if p = a.shardOf(r.Presentity).m[r.Presentity]; p == nil {
			p = &presentity{aor: r.Presentity} // detached: only carries the final NOTIFY
		}
		s := &subscription{p: p, d: r.Dialog, event: r.Event, eventID: r.EventID, watcher: r.Watcher,
			chargingVector: r.ChargingVector, expires: r.Expires, cseq: r.CSeqReserved,
			reserved: r.CSeqReserved, activated: true}
		s.expiry = timerSlot{kind: timerSubscriptionExpiry, sub: s}
		s.notifyAt = timerSlot{kind: timerNotify, sub: s}
		if r.Expires <= nowNs {
			expiredSubs = append(expiredSubs, r.Dialog.LocalTag)
			s.removed = true
			s.final = a.finalNotificationLocked(s, pk, "timeout")
			a.restored.expired++
		} else {
			s.persistent, s.pending = true, true
			p.watchers = append(p.watchers, s)
			a.timers.set(&s.expiry, s.expires)
			a.dialogShardOf(s.d.LocalTag).m[s.d.LocalTag] = s
			a.restored.subscriptions++
		}
		owed = append(owed, s)
	}
	for i, s := range owed {
		s.queued = true
		at := nowNs
		if n := len(owed); n > 1 {
			at += int64(a.cfg.RestartSpread) * int64(i) / int64(n)
		}
		a.timers.set(&s.notifyAt, at)
	}
	if len(expiredPubs)+len(expiredSubs) > 0 {
		if err := a.st.Update(ctx, func(tx Tx) error {
			for _, k := range expiredPubs {
				if err := tx.Delete(BucketPublications, k); err != nil {
					return err
				}
			}
			for _, k := range expiredSubs {
				if err := tx.Delete(BucketSubscriptions, k); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("as: deleting state that expired while down: %w", err)
		}
	}
	a.restored.expired += len(expiredPubs)
	return nil
}
