package main

import (
	"os"
	"runtime/debug"
)

// RuntimeConfig tunes the Go runtime for a server that holds much state and answers fast.
type RuntimeConfig struct {
	// GCPercent is the collector's target (GOGC). The default allows a heap several times
	// the live data between collections: each collection takes a CPU for its marking phase,
	// and with two cores the requests that arrive then wait, so fewer collections mean a
	// lower p99 under load. The environment variable GOGC, when set, wins.
	GCPercent int `yaml:"gc_percent"`
	// MemoryLimitMiB is a soft limit on the Go heap (GOMEMLIMIT): near it the collector runs
	// as often as needed, whatever GCPercent says. 0 means none. GOMEMLIMIT, when set, wins.
	MemoryLimitMiB int64 `yaml:"memory_limit_mib"`
}

// apply sets the runtime from c, leaving what the environment already set.
func (c RuntimeConfig) apply() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(c.GCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" && c.MemoryLimitMiB > 0 {
		debug.SetMemoryLimit(c.MemoryLimitMiB << 20)
	}
}
