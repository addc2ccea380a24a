package as

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTimerHeap: one heap for every expiry; set moves, cancel removes, popDue yields in order.
func TestTimerHeap(t *testing.T) {
	h := newTimers()
	r := rand.New(rand.NewPCG(1, 2))
	slots := make([]*timerSlot, 500)
	want := map[*timerSlot]int64{}
	for i := range slots {
		slots[i] = &timerSlot{}
		at := r.Int64N(1000)
		h.set(slots[i], at)
		want[slots[i]] = at
	}
	for i := 0; i < 200; i++ { // move some
		s := slots[r.IntN(len(slots))]
		at := r.Int64N(1000)
		h.set(s, at)
		want[s] = at
	}
	for i := 0; i < 100; i++ { // cancel some
		s := slots[r.IntN(len(slots))]
		_, armed := want[s]
		if got := h.cancel(s); got != armed {
			t.Fatalf("cancel reported %v for armed=%v", got, armed)
		}
		delete(want, s)
	}
	if next, ok := h.next(); !ok || next != slices.Min(valuesOf(want)) {
		t.Fatalf("next = %d", next)
	}
	popped := h.popDue(500, nil, 1<<30)
	last := int64(-1)
	for _, s := range popped {
		if s.at < last || s.at > 500 || want[s] != s.at || s.idx != 0 {
			t.Fatalf("popped %d after %d (want %d)", s.at, last, want[s])
		}
		last = s.at
		delete(want, s)
	}
	rest := h.popDue(1<<62, nil, 1<<30)
	if len(rest) != len(want) {
		t.Fatalf("%d left, want %d", len(rest), len(want))
	}
	if _, ok := h.next(); ok {
		t.Fatal("heap not empty")
	}
}

func valuesOf(m map[*timerSlot]int64) []int64 {
	var v []int64
	for _, x := range m {
		v = append(v, x)
	}
	return v
}
