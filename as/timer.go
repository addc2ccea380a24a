package as

import "sync"

// timerKind says what a timer slot does when it fires.
type timerKind uint8

const (
	timerPublicationExpiry timerKind = iota + 1
	timerSubscriptionExpiry
	timerNotify // a rate-shaped, retried or restart-spread NOTIFY
)

// timerSlot is one entry of the agent's single timer heap. Publications and subscriptions
// embed their slots, so arming a timer allocates nothing and the heap holds no goroutines.
type timerSlot struct {
	at   int64 // unix nanoseconds
	idx  int32 // position in the heap + 1; 0 when not armed
	kind timerKind
	pub  *publication
	sub  *subscription
}

// timers is the one timer heap for every publication and subscription (min-heap on at).
type timers struct {
	mu   sync.Mutex
	h    []*timerSlot
	wake chan struct{} // told when the earliest deadline moved earlier
}

func newTimers() *timers { return &timers{wake: make(chan struct{}, 1)} }

// set arms s at the given instant, moving it if it is already armed.
func (t *timers) set(s *timerSlot, at int64) {
	t.mu.Lock()
	s.at = at
	if s.idx == 0 {
		t.h = append(t.h, s)
		s.idx = int32(len(t.h))
		t.up(len(t.h) - 1)
	} else {
		i := int(s.idx - 1)
		if !t.down(i) {
			t.up(i)
		}
	}
	first := t.h[0] == s
	t.mu.Unlock()
	if first {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// cancel disarms s; it reports whether s was armed.
func (t *timers) cancel(s *timerSlot) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.idx == 0 {
		return false
	}
	t.remove(int(s.idx - 1))
	return true
}

// popDue removes up to max slots due at or before now and appends them to out.
func (t *timers) popDue(now int64, out []*timerSlot, max int) []*timerSlot {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.h) > 0 && t.h[0].at <= now && len(out) < max {
		s := t.h[0]
		t.remove(0)
		out = append(out, s)
	}
	return out
}

// next returns the earliest deadline.
func (t *timers) next() (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.h) == 0 {
		return 0, false
	}
	return t.h[0].at, true
}

func (t *timers) remove(i int) {
	n := len(t.h) - 1
	s := t.h[i]
	if i != n {
		t.swap(i, n)
	}
	t.h[n] = nil
	t.h = t.h[:n]
	s.idx = 0
	if i != n {
		if !t.down(i) {
			t.up(i)
		}
	}
}

func (t *timers) swap(i, j int) {
	t.h[i], t.h[j] = t.h[j], t.h[i]
	t.h[i].idx = int32(i + 1)
	t.h[j].idx = int32(j + 1)
}

func (t *timers) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if t.h[i].at <= t.h[j].at {
			break
		}
		t.swap(i, j)
		j = i
	}
}

func (t *timers) down(i0 int) bool {
	i, n := i0, len(t.h)
	for {
		l := 2*i + 1
		if l >= n || l < 0 {
			break
		}
		j := l
		if r := l + 1; r < n && t.h[r].at < t.h[l].at {
			j = r
		}
		if t.h[j].at >= t.h[i].at {
			break
		}
		t.swap(i, j)
		i = j
	}
	return i > i0
}
