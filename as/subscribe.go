package as

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Subscribe creates (Dialog.LocalTag empty), refreshes, ends (Expires 0 in the dialog) or
// fetches (Expires 0 on an initial SUBSCRIBE) a subscription (RFC 6665 §4.2.1, RFC 3856).
// A created, refreshed or ended subscription is committed to the store before Subscribe
// returns. The NOTIFY that follows (full state, or the final "terminated") is sent only when
// the adapter calls res.Activate, after writing the 200; Activate is never nil on success
// and is idempotent. Errors: ErrBadEvent, ErrNotAcceptable, *BadRequestError, ErrNotServed,
// ErrUnknownUser, *DirectoryUnavailableError, *IntervalTooBriefError,
// ErrNoSuchSubscription, ErrOverloaded, or a store error (500).
func (a *Agent) Subscribe(ctx context.Context, r SubscribeRequest) (SubscribeResult, error) {
	pk := a.packages[r.Event]
	if pk == nil {
		return SubscribeResult{}, fmt.Errorf("subscribe event %q: %w", r.Event, ErrBadEvent)
	}
	if !acceptable(r.Accept, pk.NotifyType()) {
		return SubscribeResult{}, fmt.Errorf("subscribe: Accept %v lacks %s: %w", r.Accept, pk.NotifyType(), ErrNotAcceptable)
	}
	if r.Dialog.LocalTag != "" {
		return a.resubscribe(ctx, pk, r)
	}
	aor, _, err := a.resolve(ctx, r.Resource)
	if err != nil {
		return SubscribeResult{}, fmt.Errorf("subscribe: %w", err)
	}
	exp, err := a.grant(r.Expires)
	if err != nil {
		return SubscribeResult{}, err
	}
	watcher, _ := ParseAOR(r.Watcher) // informational; "" when unparsable
	d := r.Dialog
	d.LocalTag = newToken()
	d.RouteSet = slices.Clone(d.RouteSet)

	p, err := a.lock(ctx, aor, true)
	if err != nil {
		return SubscribeResult{}, err
	}
	defer a.unlock(p)

	s := &subscription{p: p, d: d, event: r.Event, eventID: r.EventID, watcher: watcher,
		chargingVector: r.ChargingVector}
	s.expiry = timerSlot{kind: timerSubscriptionExpiry, sub: s}
	s.notifyAt = timerSlot{kind: timerNotify, sub: s}

	if exp == 0 { // fetch (RFC 6665 §4.4.3): one NOTIFY with the current state, nothing kept
		p.mu.Lock()
		s.final = a.finalNotificationLocked(s, pk, "timeout")
		p.mu.Unlock()
		return SubscribeResult{LocalTag: d.LocalTag, Activate: a.activator(s)}, nil
	}
	if len(p.watchers) >= a.cfg.MaxWatchers {
		return SubscribeResult{}, fmt.Errorf("subscribe %s: %d watchers (presence.max_watchers): %w",
			aor, len(p.watchers), ErrOverloaded)
	}
	s.persistent, s.pending = true, true
	s.expires = a.now().Add(exp).UnixNano()
	s.reserved = cseqBlock
	rec := encodeSubscription(s.record())
	if err := a.st.Update(ctx, func(tx Tx) error { return tx.Put(BucketSubscriptions, d.LocalTag, rec) }); err != nil {
		return SubscribeResult{}, fmt.Errorf("subscribe %s: store: %w", aor, err)
	}
	p.mu.Lock()
	p.watchers = append(p.watchers, s)
	a.timers.set(&s.expiry, s.expires)
	p.mu.Unlock()
	a.indexDialog(s)
	return SubscribeResult{LocalTag: d.LocalTag, Expires: exp, Activate: a.activator(s)}, nil
}

// resubscribe refreshes or ends the subscription of an existing dialog (RFC 6665 §4.2.1.2, §4.2.1.4).
func (a *Agent) resubscribe(ctx context.Context, pk EventPackage, r SubscribeRequest) (SubscribeResult, error) {
	s := a.findDialog(r.Dialog)
	if s == nil || s.event != r.Event || s.eventID != r.EventID {
		return SubscribeResult{}, fmt.Errorf("subscribe in dialog %s/%s event %q: %w",
			r.Dialog.CallID, r.Dialog.LocalTag, r.Event, ErrNoSuchSubscription)
	}
	exp, err := a.grant(r.Expires)
	if err != nil {
		return SubscribeResult{}, err
	}
	p, err := a.lock(ctx, s.p.aor, true)
	if err != nil {
		return SubscribeResult{}, err
	}
	defer a.unlock(p)
	if p != s.p || s.removed {
		return SubscribeResult{}, fmt.Errorf("subscribe in dialog %s: %w", r.Dialog.CallID, ErrNoSuchSubscription)
	}
	tag := s.d.LocalTag
	if exp == 0 { // unsubscribe
		if err := a.st.Update(ctx, func(tx Tx) error { return tx.Delete(BucketSubscriptions, tag) }); err != nil {
			return SubscribeResult{}, fmt.Errorf("unsubscribe %s: store: %w", p.aor, err)
		}
		a.terminate(s, pk, "timeout", true)
		return SubscribeResult{LocalTag: tag, Activate: a.activator(s)}, nil
	}
	rec := s.record()
	rec.Expires = a.now().Add(exp).UnixNano()
	if r.Dialog.RemoteTarget != "" {
		rec.Dialog.RemoteTarget = r.Dialog.RemoteTarget
	}
	if r.ChargingVector != "" {
		rec.ChargingVector = r.ChargingVector
	}
	buf := encodeSubscription(rec)
	if err := a.st.Update(ctx, func(tx Tx) error { return tx.Put(BucketSubscriptions, tag, buf) }); err != nil {
		return SubscribeResult{}, fmt.Errorf("refresh subscription to %s: store: %w", p.aor, err)
	}
	p.mu.Lock()
	s.expires = rec.Expires
	s.d.RemoteTarget = rec.Dialog.RemoteTarget
	s.chargingVector = rec.ChargingVector
	a.timers.set(&s.expiry, s.expires)
	p.mu.Unlock()
	return SubscribeResult{LocalTag: tag, Expires: exp, Activate: a.activator(s)}, nil
}

// acceptable reports whether an Accept list (nil or empty when absent: the package's
// default type, RFC 3856 §6.8) admits typ.
func acceptable(accept []string, typ string) bool {
	if len(accept) == 0 {
		return true
	}
	wild := "*/*"
	if i := strings.IndexByte(typ, '/'); i > 0 {
		wild = typ[:i] + "/*"
	}
	for _, t := range accept {
		if t == typ || t == "*/*" || t == wild {
			return true
		}
	}
	return false
}

// activator returns the res.Activate func: it lets NOTIFYs go for s (the 200 is out) and
// sends the immediate one: full state for a new or refreshed subscription, the final
// NOTIFY for a fetch or an unsubscribe.
func (a *Agent) activator(s *subscription) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			p := s.p
			p.mu.Lock()
			s.activated = true
			if s.final == nil && !s.removed {
				s.pending = true
			}
			a.kickLocked(s)
			p.mu.Unlock()
		})
	}
}

func (a *Agent) indexDialog(s *subscription) {
	ds := a.dialogShardOf(s.d.LocalTag)
	ds.mu.Lock()
	ds.m[s.d.LocalTag] = s
	ds.mu.Unlock()
}

func (a *Agent) unindexDialog(s *subscription) {
	ds := a.dialogShardOf(s.d.LocalTag)
	ds.mu.Lock()
	if ds.m[s.d.LocalTag] == s {
		delete(ds.m, s.d.LocalTag)
	}
	ds.mu.Unlock()
}

// findDialog returns the subscription of dialog d (RFC 3261 §12: Call-ID and both tags).
func (a *Agent) findDialog(d Dialog) *subscription {
	ds := a.dialogShardOf(d.LocalTag)
	ds.mu.Lock()
	s := ds.m[d.LocalTag]
	ds.mu.Unlock()
	if s == nil || s.d.CallID != d.CallID || s.d.RemoteTag != d.RemoteTag {
		return nil
	}
	return s
}

// terminate removes s (already deleted from the store; FIFO lock held) and queues the final
// NOTIFY "terminated;reason=...". With gate the NOTIFY waits for Activate (unsubscribe: the 200 goes first).
func (a *Agent) terminate(s *subscription, pk EventPackage, reason string, gate bool) {
	p := s.p
	p.mu.Lock()
	if i := slices.Index(p.watchers, s); i >= 0 {
		p.watchers = slices.Delete(p.watchers, i, i+1)
	}
	s.removed = true
	a.timers.cancel(&s.expiry)
	s.final = a.finalNotificationLocked(s, pk, reason)
	if gate {
		s.activated = false
	} else if s.activated {
		a.kickLocked(s)
	}
	p.mu.Unlock()
	a.unindexDialog(s)
}

func (a *Agent) finalNotificationLocked(s *subscription, pk EventPackage, reason string) *Notification {
	return &Notification{Event: s.event, EventID: s.eventID, State: StateTerminated, Reason: reason,
		ChargingVector: s.chargingVector, ContentType: pk.NotifyType(), Body: a.composeLocked(s.p, pk)}
}

// expireSubscription ends a subscription whose time is up with NOTIFY terminated;reason=timeout
// (RFC 6665 §4.2.2).
func (a *Agent) expireSubscription(ctx context.Context, s *subscription) {
	p, err := a.lock(ctx, s.p.aor, false)
	if err != nil {
		return
	}
	defer a.unlock(p)
	if p != s.p || s.removed {
		return
	}
	if s.expires > a.nowNano() {
		a.timers.set(&s.expiry, s.expires)
		return
	}
	tag := s.d.LocalTag
	if err := a.st.Update(ctx, func(tx Tx) error { return tx.Delete(BucketSubscriptions, tag) }); err != nil {
		a.log.Error("expire subscription: store failed; retrying", "aor", p.aor, "call_id", s.d.CallID, "err", err)
		a.timers.set(&s.expiry, a.now().Add(retryDelay).UnixNano())
		return
	}
	a.log.Debug("subscription expired", "aor", p.aor, "call_id", s.d.CallID)
	a.terminate(s, a.packages[s.event], "timeout", false)
}

// dropSubscription removes s without a NOTIFY: the watcher answered 481, or a NOTIFY timed
// out under presence.notify_timeout_policy "terminate".
func (a *Agent) dropSubscription(ctx context.Context, s *subscription, why string) {
	if !s.persistent {
		return
	}
	p, err := a.lock(ctx, s.p.aor, false)
	if err != nil {
		return
	}
	defer a.unlock(p)
	if p != s.p || s.removed {
		return
	}
	tag := s.d.LocalTag
	if err := a.st.Update(ctx, func(tx Tx) error { return tx.Delete(BucketSubscriptions, tag) }); err != nil {
		a.log.Error("drop subscription: store failed", "aor", p.aor, "call_id", s.d.CallID, "err", err)
		return
	}
	p.mu.Lock()
	if i := slices.Index(p.watchers, s); i >= 0 {
		p.watchers = slices.Delete(p.watchers, i, i+1)
	}
	s.removed = true
	s.final = nil
	a.timers.cancel(&s.expiry)
	a.timers.cancel(&s.notifyAt)
	p.mu.Unlock()
	a.unindexDialog(s)
	a.log.Info("subscription removed", "aor", p.aor, "call_id", s.d.CallID, "reason", why)
}

func remaining(expires, now int64) time.Duration {
	d := time.Duration(expires - now).Truncate(time.Second)
	if d < 0 {
		return 0
	}
	return d
}
