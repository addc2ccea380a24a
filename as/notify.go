package as

import (
	"context"
	"errors"
)

// NOTIFY pipeline. Each subscription is a small state machine guarded by its presentity's
// mu: a change marks it pending; if no NOTIFY is queued or in flight it is dispatched at
// once or, within notify_interval of the last one, armed on the timer heap (coalescing
// every change in between). A bounded pool of workers takes subscriptions from the queue,
// composes the body at send time (the latest state) and calls the Notifier. Nothing on the
// PUBLISH path ever blocks on the queue: when it is full the subscription is retried later.

// stateChangedLocked marks s as owing a NOTIFY; p.mu is held.
func (a *Agent) stateChangedLocked(s *subscription) {
	if s.removed {
		return
	}
	s.pending = true
	if !s.activated || s.queued || s.inflight {
		return
	}
	a.dispatchLocked(s, false)
}

// kickLocked sends s's NOTIFY now (first NOTIFY, refresh, final), pulling it out of a
// rate-shaping wait; p.mu is held.
func (a *Agent) kickLocked(s *subscription) {
	if s.inflight || !s.activated {
		return // the worker re-dispatches when it is done; Activate kicks later
	}
	if s.queued {
		if !a.timers.cancel(&s.notifyAt) {
			return // already in the queue
		}
		s.queued = false
	}
	a.dispatchLocked(s, true)
}

// dispatchLocked queues s, or arms its notify timer; s is neither queued nor in flight.
func (a *Agent) dispatchLocked(s *subscription, immediate bool) {
	now := a.nowNano()
	s.queued = true
	if !immediate && s.lastSent != 0 && a.cfg.NotifyInterval > 0 {
		if due := s.lastSent + int64(a.cfg.NotifyInterval); due > now {
			a.timers.set(&s.notifyAt, due)
			return
		}
	}
	select {
	case a.notifyQ <- s:
	default:
		a.timers.set(&s.notifyAt, now+int64(retryDelay))
	}
}

// notifyTimerFired runs when a rate-shaped, retried or restart-spread NOTIFY is due.
func (a *Agent) notifyTimerFired(s *subscription) {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if !s.queued || s.inflight {
		return
	}
	s.queued = false
	if s.activated && (s.final != nil || (s.pending && !s.removed)) {
		a.dispatchLocked(s, true)
	}
}

func (a *Agent) notifyLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-a.notifyQ:
			a.sendNotify(ctx, s)
		}
	}
}

// sendNotify sends s's owed NOTIFY (final or current state) with the next CSeq.
func (a *Agent) sendNotify(ctx context.Context, s *subscription) {
	p := s.p
	p.mu.Lock()
	s.queued = false
	if s.inflight || !s.activated {
		p.mu.Unlock()
		return
	}
	var n Notification
	final := s.final != nil
	switch {
	case final:
		n = *s.final
		s.final = nil
	case s.removed || !s.pending:
		p.mu.Unlock()
		return
	default:
		pk := a.packages[s.event]
		n = Notification{Event: s.event, EventID: s.eventID, State: StateActive,
			Expires: remaining(s.expires, a.nowNano()), ChargingVector: s.chargingVector,
			ContentType: pk.NotifyType(), Body: a.composeLocked(p, pk)}
		s.pending = false
	}
	bump := s.persistent && !s.removed && s.cseq >= s.reserved
	s.inflight = true
	p.mu.Unlock()

	if bump {
		a.reserveCSeq(ctx, s)
	}
	p.mu.Lock()
	s.cseq++
	n.CSeq = s.cseq
	n.Dialog = s.d
	s.lastSent = a.nowNano()
	p.mu.Unlock()

	err := a.notifier.Notify(ctx, n)
	if err == nil {
		a.stats.notifies.Add(1)
	} else {
		a.stats.notifyFailures.Add(1)
	}

	p.mu.Lock()
	s.inflight = false
	if s.activated && !s.queued && (s.final != nil || (s.pending && !s.removed)) {
		a.dispatchLocked(s, s.final != nil)
	}
	p.mu.Unlock()

	switch {
	case err == nil:
	case ctx.Err() != nil:
	case errors.Is(err, ErrNoSuchSubscription):
		a.dropSubscription(ctx, s, "notify answered 481")
	case errors.Is(err, ErrNotifyTimeout):
		if a.cfg.NotifyTimeoutPolicy == PolicyTerminate {
			a.dropSubscription(ctx, s, "notify timed out")
			return
		}
		p.mu.Lock()
		if !final && !s.removed {
			s.pending = true // the watcher missed this state: the next change carries it
		}
		p.mu.Unlock()
		a.log.Warn("notify timed out; subscription kept", "aor", p.aor, "call_id", n.Dialog.CallID, "cseq", n.CSeq)
	default:
		a.log.Warn("notify failed", "aor", p.aor, "call_id", n.Dialog.CallID, "cseq", n.CSeq, "err", err)
	}
}

// reserveCSeq persists a new block of CSeq numbers for s so that after a restart its
// NOTIFYs continue above every CSeq ever sent (RFC 3261 §12.2.1.1).
func (a *Agent) reserveCSeq(ctx context.Context, s *subscription) {
	p, err := a.lock(ctx, s.p.aor, false)
	if err != nil {
		return
	}
	defer a.unlock(p)
	if p != s.p {
		return
	}
	p.mu.Lock()
	if s.removed {
		p.mu.Unlock()
		return
	}
	res := max(s.cseq, s.reserved) + cseqBlock
	rec := s.record()
	rec.CSeqReserved = res
	p.mu.Unlock()
	buf := encodeSubscription(rec)
	tag := rec.Dialog.LocalTag
	if err := a.st.Update(ctx, func(tx Tx) error { return tx.Put(BucketSubscriptions, tag, buf) }); err != nil {
		a.log.Error("reserving NOTIFY CSeq numbers failed", "aor", p.aor, "call_id", rec.Dialog.CallID, "err", err)
		return
	}
	p.mu.Lock()
	s.reserved = res
	p.mu.Unlock()
}
