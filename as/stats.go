package as

import "sync/atomic"

// Stats is a snapshot of the agent's state and work, for metrics.
type Stats struct {
	Presentities   int    // presentities with any state or watcher
	Publications   int    // live publications (RFC 3903 soft state)
	Subscriptions  int    // live subscriptions
	Notifies       uint64 // NOTIFYs answered 2xx since start
	NotifyFailures uint64 // NOTIFYs that failed (error response, timeout, transport)
}

type counters struct {
	notifies, notifyFailures atomic.Uint64
}

// Stats counts the agent's state. It visits every shard, so it costs O(presentities):
// call it for a metrics scrape, not per request.
func (a *Agent) Stats() Stats {
	st := Stats{Notifies: a.stats.notifies.Load(), NotifyFailures: a.stats.notifyFailures.Load()}
	for i := range a.shards {
		sh := &a.shards[i]
		sh.mu.Lock()
		st.Presentities += len(sh.m)
		for _, p := range sh.m {
			p.mu.Lock()
			st.Publications += len(p.pubs)
			p.mu.Unlock()
		}
		sh.mu.Unlock()
	}
	for i := range a.dialogs {
		d := &a.dialogs[i]
		d.mu.Lock()
		st.Subscriptions += len(d.m)
		d.mu.Unlock()
	}
	return st
}
