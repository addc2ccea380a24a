package sh

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/diameter/dict"
)

// Lookup implements as.Directory: the subscriber owning impu, with its implicit set and
// aliases, from the cache or from one UDR (IMSPublicIdentity with Identity-Set, and
// IMSUserState) shared by concurrent callers. When the HSS cannot answer within the lookup
// deadline a cached (even stale) subscriber is returned, else *as.DirectoryUnavailableError.
func (c *Client) Lookup(ctx context.Context, impu as.AOR) (as.Subscriber, error) {
	sub, fresh, cached := c.cache.get(impu)
	if cached && fresh {
		return sub, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.LookupDeadline)
	defer cancel()
	ch := c.group.DoChan(string(impu), func() (any, error) {
		fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.LookupDeadline)
		defer fcancel()
		return c.fetch(fctx, impu)
	})
	var err error
	select {
	case r := <-ch:
		if r.Err == nil {
			return clone(r.Val.(as.Subscriber)), nil
		}
		err = r.Err
	case <-ctx.Done():
		err = ctx.Err()
	}
	switch {
	case errors.Is(err, as.ErrUnknownUser):
		c.cache.invalidate(impu)
		return as.Subscriber{}, err
	case unavailable(err):
		if cached {
			c.log.Info("sh: HSS unavailable, serving cached subscriber", "impu", impu, "err", err)
			return sub, nil
		}
		return as.Subscriber{}, &as.DirectoryUnavailableError{RetryAfter: c.cfg.RetryAfter, Err: err}
	}
	return as.Subscriber{}, err
}

// fetch asks the HSS and caches the answer.
func (c *Client) fetch(ctx context.Context, impu as.AOR) (as.Subscriber, error) {
	d, err := c.UserData(ctx, impu, dict.IMSPublicIdentity, dict.IMSUserState)
	if err != nil {
		return as.Subscriber{}, err
	}
	sub := subscriberFrom(impu, d)
	c.cache.put(sub)
	if c.cfg.Subscribe {
		go c.subscribe(sub)
	}
	return sub, nil
}

func subscriberFrom(impu as.AOR, d *Data) as.Subscriber {
	var ids []as.AOR
	if d.PublicIdentifiers != nil {
		for _, s := range d.PublicIdentifiers.IMSPublicIdentity {
			ids = append(ids, as.AOR(s))
		}
	}
	if !slices.Contains(ids, impu) {
		ids = append(ids, impu)
	}
	sub := as.Subscriber{Identities: ids, State: as.NotRegistered}
	if p, ok := firstSIP(ids); ok {
		sub.Presentity = p
	} else {
		sub.Presentity = impu
	}
	if d.IMSData != nil && d.IMSData.IMSUserState != nil {
		sub.State = *d.IMSData.IMSUserState
	}
	return sub
}

// Registration reports a third-party REGISTER from the S-CSCF (TS 24.229 §5.4.1.7):
// registered false for a de-registration (Expires: 0). The cached state is updated and the
// user state listener told when the state changes (always on de-registration of a user
// not cached, since presence may hold state the cache has forgotten).
func (c *Client) Registration(ctx context.Context, impu as.AOR, registered bool) {
	st := as.NotRegistered
	if registered {
		st = as.Registered
	}
	old, sub, ok := c.cache.setState(impu, st)
	target := impu
	if ok {
		target = sub.Presentity
	}
	if (ok && old != st) || (!ok && !registered) {
		c.notify(ctx, target, st)
	}
}

func (c *Client) notify(ctx context.Context, impu as.AOR, st as.UserState) {
	c.mu.Lock()
	l := c.listener
	c.mu.Unlock()
	if l != nil {
		l.UserStateChanged(ctx, impu, st)
	}
}

// CacheLen is the number of cached subscribers.
func (c *Client) CacheLen() int { return c.cache.len() }

func (c *Client) String() string { return fmt.Sprintf("sh client %s", c.cfg.OriginHost) }
