package as

import (
	"context"
	"fmt"
	"slices"
)

// Publish processes one PUBLISH (RFC 3903 §6): initial (body, no SIP-If-Match), refresh
// (SIP-If-Match, no body), modify (SIP-If-Match and body) or remove (SIP-If-Match,
// Expires 0). The new state is committed to the store before Publish returns; watchers
// are notified afterwards. Errors: ErrBadEvent, *BadRequestError, ErrNotServed,
// ErrUnknownUser, *DirectoryUnavailableError, ErrForbidden, *IntervalTooBriefError,
// ErrUnsupportedMediaType, ErrNoSuchETag, ErrOverloaded, or a store error (500).
func (a *Agent) Publish(ctx context.Context, r PublishRequest) (PublishResult, error) {
	pk := a.packages[r.Event]
	if pk == nil || len(pk.PublishTypes()) == 0 {
		return PublishResult{}, fmt.Errorf("publish event %q: %w", r.Event, ErrBadEvent)
	}
	aor, sub, err := a.resolve(ctx, r.Presentity)
	if err != nil {
		return PublishResult{}, fmt.Errorf("publish: %w", err)
	}
	publisher, err := a.mayPublish(r.Publisher, aor, sub)
	if err != nil {
		return PublishResult{}, err
	}
	if r.IfMatch == "" && len(r.Body) == 0 {
		return PublishResult{}, &BadRequestError{Reason: "initial PUBLISH without a body (RFC 3903 section 6 step 4)"}
	}
	exp, err := a.grant(r.Expires)
	if err != nil {
		return PublishResult{}, err
	}
	if len(r.Body) > a.cfg.MaxBodySize {
		return PublishResult{}, fmt.Errorf("publish %s: body of %d bytes exceeds presence.max_body_size %d: %w",
			aor, len(r.Body), a.cfg.MaxBodySize, ErrTooLarge)
	}
	if len(r.Body) > 0 && !slices.Contains(pk.PublishTypes(), r.ContentType) {
		return PublishResult{}, fmt.Errorf("publish %s: content type %q: %w", aor, r.ContentType, ErrUnsupportedMediaType)
	}

	p, err := a.lock(ctx, aor, true)
	if err != nil {
		return PublishResult{}, err
	}
	defer a.unlock(p)

	now := a.now()
	nowNs := now.UnixNano()
	var old *publication
	if r.IfMatch != "" {
		for _, pb := range p.pubs {
			if pb.etag == r.IfMatch && pb.event == r.Event {
				old = pb
				break
			}
		}
		if old == nil || old.expires <= nowNs {
			return PublishResult{}, fmt.Errorf("publish %s: SIP-If-Match %q: %w", aor, r.IfMatch, ErrNoSuchETag)
		}
	}

	switch {
	case old != nil && exp == 0: // remove (RFC 3903 §4.4)
		if err := a.st.Update(ctx, func(tx Tx) error {
			return tx.Delete(BucketPublications, publicationKey(aor, old.id))
		}); err != nil {
			return PublishResult{}, fmt.Errorf("publish %s: remove %s: %w", aor, old.id, err)
		}
		a.removePublication(p, old)
		return PublishResult{}, nil

	case old == nil && exp == 0:
		// An initial PUBLISH asking for no time at all: nothing to keep (RFC 3903 §6 step 5).
		return PublishResult{ETag: newToken()}, nil
	}

	pb := &publication{p: p, event: r.Event, publisher: publisher, etag: newToken(),
		expires: now.Add(exp).UnixNano()}
	pb.timer = timerSlot{kind: timerPublicationExpiry, pub: pb}
	changed := len(r.Body) > 0
	if old != nil {
		pb.id, pb.ctype, pb.body, pb.state, pb.published = old.id, old.ctype, old.body, old.state, old.published
	} else {
		if len(p.pubs) >= a.cfg.MaxPublications {
			return PublishResult{}, fmt.Errorf("publish %s: %d publications (presence.max_publications): %w",
				aor, len(p.pubs), ErrOverloaded)
		}
		pb.id = pb.etag
	}
	if changed {
		state, err := pk.Decode(pb.id, r.Body, now)
		if err != nil {
			return PublishResult{}, &BadRequestError{Reason: err.Error()}
		}
		pb.state, pb.ctype, pb.published = state, r.ContentType, nowNs
		pb.body = slices.Clone(r.Body)
	}
	rec := encodePublication(pb.record())
	key := publicationKey(aor, pb.id)
	if err := a.st.Update(ctx, func(tx Tx) error { return tx.Put(BucketPublications, key, rec) }); err != nil {
		return PublishResult{}, fmt.Errorf("publish %s: store %s: %w", aor, pb.id, err)
	}

	// Committed: apply in memory, re-arm the timer, notify.
	p.mu.Lock()
	if old != nil {
		i := slices.Index(p.pubs, old)
		p.pubs[i] = pb
		a.timers.cancel(&old.timer)
	} else {
		p.pubs = append(p.pubs, pb)
	}
	a.timers.set(&pb.timer, pb.expires)
	if changed {
		a.changedLocked(p, r.Event)
	}
	p.mu.Unlock()
	return PublishResult{ETag: pb.etag, Expires: exp}, nil
}

// mayPublish returns the publisher's AOR when it may publish for presentity aor: one of
// the subscriber's own identities, or an identity configured in presence.publish_as.
func (a *Agent) mayPublish(publisher string, aor AOR, sub Subscriber) (AOR, error) {
	from, err := ParseAOR(publisher)
	if err != nil {
		return "", fmt.Errorf("publisher %q: %v: %w", publisher, err, ErrForbidden)
	}
	if from == aor || slices.Contains(sub.Identities, from) {
		return from, nil
	}
	if allowed := a.publishAs[from]; allowed != nil {
		if allowed[aor] {
			return from, nil
		}
		for _, id := range sub.Identities {
			if allowed[id] {
				return from, nil
			}
		}
	}
	return "", fmt.Errorf("%s may not publish for %s: %w", from, aor, ErrForbidden)
}

// removePublication drops pb from memory after its removal was committed; FIFO lock held.
func (a *Agent) removePublication(p *presentity, pb *publication) {
	p.mu.Lock()
	if i := slices.Index(p.pubs, pb); i >= 0 {
		p.pubs = slices.Delete(p.pubs, i, i+1)
	}
	a.timers.cancel(&pb.timer)
	a.changedLocked(p, pb.event)
	p.mu.Unlock()
}

// expirePublication removes a publication whose time is up (RFC 3903 §4.1) and notifies.
func (a *Agent) expirePublication(ctx context.Context, pb *publication) {
	aor := pb.p.aor // pb.p never changes
	p, err := a.lock(ctx, aor, false)
	if err != nil {
		return
	}
	defer a.unlock(p)
	if pb.p != p || !slices.Contains(p.pubs, pb) {
		return // removed or replaced meanwhile
	}
	if now := a.nowNano(); pb.expires > now {
		a.timers.set(&pb.timer, pb.expires) // refreshed meanwhile
		return
	}
	if err := a.st.Update(ctx, func(tx Tx) error {
		return tx.Delete(BucketPublications, publicationKey(aor, pb.id))
	}); err != nil {
		a.log.Error("expire publication: store failed; retrying", "aor", aor, "etag", pb.etag, "err", err)
		a.timers.set(&pb.timer, a.now().Add(retryDelay).UnixNano())
		return
	}
	a.log.Debug("publication expired", "aor", aor, "etag", pb.etag)
	a.removePublication(p, pb)
}

// SetHardState sets (body != nil) or clears (nil) the presentity's hard state, the XCAP
// pidf-manipulation document (RFC 4827), and notifies watchers. The XCAP server calls it
// after committing the document; the agent keeps its own copy in the store so that the
// composition survives a restart.
func (a *Agent) SetHardState(ctx context.Context, presentity AOR, body []byte) error {
	aor, err := ParseAOR(string(presentity))
	if err != nil {
		return &BadRequestError{Reason: err.Error()}
	}
	if sub, err := a.dir.Lookup(ctx, aor); err == nil && sub.Presentity != "" {
		aor = sub.Presentity
	}
	pk := a.packages["presence"]
	if pk == nil {
		return fmt.Errorf("hard state for %s: %w", aor, ErrBadEvent)
	}
	if len(body) > a.cfg.MaxBodySize {
		return fmt.Errorf("hard state for %s: %d bytes exceed presence.max_body_size: %w", aor, len(body), ErrTooLarge)
	}
	var state any
	if body != nil {
		if state, err = pk.Decode("", body, a.now()); err != nil {
			return &BadRequestError{Reason: err.Error()}
		}
	}
	p, err := a.lock(ctx, aor, true)
	if err != nil {
		return err
	}
	defer a.unlock(p)
	key := hardStateKey(aor)
	raw := slices.Clone(body)
	if err := a.st.Update(ctx, func(tx Tx) error {
		if raw == nil {
			return tx.Delete(BucketPublications, key)
		}
		return tx.Put(BucketPublications, key, raw)
	}); err != nil {
		return fmt.Errorf("hard state for %s: %w", aor, err)
	}
	p.mu.Lock()
	p.hard = state
	a.changedLocked(p, pk.Event())
	p.mu.Unlock()
	return nil
}

// UserStateChanged implements UserStateListener: when impu becomes NOT_REGISTERED and
// presence.on_deregistration is "remove", the user's publications (soft state) are removed
// and watchers notified; hard state and subscriptions stay.
func (a *Agent) UserStateChanged(ctx context.Context, impu AOR, state UserState) {
	if state != NotRegistered || a.cfg.OnDeregistration != PolicyRemove {
		return
	}
	aor, err := ParseAOR(string(impu))
	if err != nil {
		a.log.Warn("user state change for a bad identity", "impu", impu, "err", err)
		return
	}
	if sub, err := a.dir.Lookup(ctx, aor); err == nil && sub.Presentity != "" {
		aor = sub.Presentity
	}
	p, err := a.lock(ctx, aor, false)
	if err != nil {
		return
	}
	defer a.unlock(p)
	p.mu.Lock()
	pubs := slices.Clone(p.pubs)
	p.mu.Unlock()
	if len(pubs) == 0 {
		return
	}
	if err := a.st.Update(ctx, func(tx Tx) error {
		for _, pb := range pubs {
			if err := tx.Delete(BucketPublications, publicationKey(aor, pb.id)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		a.log.Error("deregistration: removing publications failed", "aor", aor, "err", err)
		return
	}
	for _, pb := range pubs {
		a.removePublication(p, pb)
	}
	a.log.Info("deregistered: publications removed", "aor", aor, "count", len(pubs))
}
