package bsf

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrZnUnavailable is returned when the BSF cannot be asked (Zn peer down, timeout,
// DIAMETER_UNABLE_TO_COMPLY); the proxy answers 503.
var ErrZnUnavailable = errors.New("BSF unreachable over Zn")

// keyCache keeps Ks_NAF per (B-TID, NAF_Id) until Key-ExpiryTime (TS 33.220 §4.5.3).
type keyCache struct {
	src KeyService
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]NAFKey
}

func newKeyCache(src KeyService, max int, now func() time.Time) *keyCache {
	return &keyCache{src: src, max: max, now: now, entries: map[string]NAFKey{}}
}

// NAFKey implements KeyService with the cache in front of src.
func (c *keyCache) NAFKey(ctx context.Context, btid, nafID string) (NAFKey, error) {
	key := btid + "\x00" + nafID
	now := c.now()
	c.mu.Lock()
	k, ok := c.entries[key]
	if ok && !now.Before(k.Expires) {
		delete(c.entries, key)
		ok = false
	}
	c.mu.Unlock()
	if ok {
		return k, nil
	}
	k, err := c.src.NAFKey(ctx, btid, nafID)
	if err != nil {
		return NAFKey{}, err
	}
	if c.max == 0 || !now.Before(k.Expires) {
		return k, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Full: drop expired entries, then arbitrary ones down to half the bound.
		for ek, e := range c.entries {
			if !now.Before(e.Expires) {
				delete(c.entries, ek)
			}
		}
		for ek := range c.entries {
			if len(c.entries) <= c.max/2 {
				break
			}
			delete(c.entries, ek)
		}
	}
	c.entries[key] = k
	return k, nil
}
