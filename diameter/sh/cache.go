package sh

import (
	"container/list"
	"slices"
	"sync"
	"time"

	"github.com/imsps/imsps/as"
)

// cache holds subscribers by every identity they own, least recently used first out,
// each entry fresh for ttl. Stale entries stay until evicted, to serve while the HSS is away.
type cache struct {
	mu      sync.Mutex
	size    int
	ttl     time.Duration
	now     func() time.Time
	byID    map[as.AOR]*list.Element
	lru     *list.List // of *entry; front is the most recently used
	onEvict func(as.Subscriber)
}

type entry struct {
	sub     as.Subscriber
	fetched time.Time
}

func newCache(size int, ttl time.Duration, now func() time.Time) *cache {
	return &cache{size: size, ttl: ttl, now: now, byID: map[as.AOR]*list.Element{}, lru: list.New()}
}

// get returns the cached subscriber owning impu and whether it is still fresh.
func (c *cache) get(impu as.AOR) (sub as.Subscriber, fresh, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[impu]
	if !ok {
		return as.Subscriber{}, false, false
	}
	c.lru.MoveToFront(el)
	e := el.Value.(*entry)
	return clone(e.sub), c.now().Sub(e.fetched) < c.ttl, true
}

func clone(s as.Subscriber) as.Subscriber {
	s.Identities = slices.Clone(s.Identities)
	return s
}

// put stores a subscriber under all its identities, replacing older entries for any of them.
func (c *cache) put(sub as.Subscriber) {
	var evicted []as.Subscriber
	c.mu.Lock()
	for _, id := range keys(sub) {
		if el, ok := c.byID[id]; ok {
			c.removeLocked(el)
		}
	}
	el := c.lru.PushFront(&entry{sub: clone(sub), fetched: c.now()})
	for _, id := range keys(sub) {
		c.byID[id] = el
	}
	for c.lru.Len() > c.size {
		back := c.lru.Back()
		evicted = append(evicted, back.Value.(*entry).sub)
		c.removeLocked(back)
	}
	c.mu.Unlock()
	if c.onEvict != nil {
		for _, s := range evicted {
			c.onEvict(s)
		}
	}
}

func keys(sub as.Subscriber) []as.AOR {
	return append(slices.Clone(sub.Identities), sub.Presentity)
}

func (c *cache) removeLocked(el *list.Element) {
	e := el.Value.(*entry)
	for _, id := range keys(e.sub) {
		if c.byID[id] == el {
			delete(c.byID, id)
		}
	}
	c.lru.Remove(el)
}

// invalidate drops the subscriber owning impu.
func (c *cache) invalidate(impu as.AOR) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[impu]; ok {
		c.removeLocked(el)
	}
}

// setState records a new IMS user state for the subscriber owning impu; it returns the
// previous state and the subscriber, ok false when impu is not cached.
func (c *cache) setState(impu as.AOR, st as.UserState) (old as.UserState, sub as.Subscriber, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[impu]
	if !ok {
		return 0, as.Subscriber{}, false
	}
	e := el.Value.(*entry)
	old = e.sub.State
	e.sub.State = st
	return old, clone(e.sub), true
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
