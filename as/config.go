package as

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Config is the presence core's configuration; its yaml prefix is "presence".
type Config struct {
	// Domains are the served domains; a presentity elsewhere gets 404 (RFC 3903 §6 step 1).
	Domains []string `yaml:"domains"`
	// DefaultExpires applies to a PUBLISH or SUBSCRIBE without Expires (RFC 3903 §6 step 5).
	DefaultExpires time.Duration `yaml:"default_expires"`
	// MinExpires: requests asking for 0 < Expires < MinExpires get 423 with Min-Expires.
	MinExpires time.Duration `yaml:"min_expires"`
	// MaxExpires: longer requested intervals are cut down to it (publications and subscriptions).
	MaxExpires time.Duration `yaml:"max_expires"`
	// NotifyInterval is the rate shaping per subscription: at most one NOTIFY per interval,
	// changes in between coalesced into the next one. The first NOTIFY after a SUBSCRIBE is
	// always immediate.
	NotifyInterval time.Duration `yaml:"notify_interval"`
	// NotifyTimeoutPolicy says what a NOTIFY that got no answer does: "keep" the subscription
	// (the next change retries) or "terminate" it.
	NotifyTimeoutPolicy string `yaml:"notify_timeout_policy"`
	// PublishAs maps an identity to the presentities it may publish for (besides its own).
	PublishAs map[string][]string `yaml:"publish_as"`
	// OnDeregistration says what NOT_REGISTERED does to the user's publications: "remove"
	// (default) or "keep".
	OnDeregistration string `yaml:"on_deregistration"`
	// RestartSpread is the window over which the NOTIFYs owed after a restart are spread.
	RestartSpread time.Duration `yaml:"restart_spread"`
	// MaxWatchers bounds the subscriptions per presentity (ErrOverloaded beyond).
	MaxWatchers int `yaml:"max_watchers"`
	// MaxPublications bounds the live publications per presentity (ErrOverloaded beyond).
	MaxPublications int `yaml:"max_publications"`
	// MaxBodySize bounds a PUBLISH or hard-state body in bytes (ErrTooLarge beyond).
	MaxBodySize int `yaml:"max_body_size"`
	// MaxQueue bounds the requests waiting for one presentity (ErrOverloaded beyond).
	MaxQueue int `yaml:"max_queue"`
	// NotifyWorkers is the number of NOTIFYs in flight at once.
	NotifyWorkers int `yaml:"notify_workers"`
	// NotifyQueue is the length of the NOTIFY queue; when full, NOTIFYs are retried later.
	NotifyQueue int `yaml:"notify_queue"`
}

// Notify timeout policies and deregistration policies.
const (
	PolicyKeep      = "keep"
	PolicyTerminate = "terminate"
	PolicyRemove    = "remove"
)

// DefaultConfig returns the lab defaults.
func DefaultConfig() Config {
	return Config{
		Domains:             []string{"example.com"},
		DefaultExpires:      3600 * time.Second,
		MinExpires:          60 * time.Second,
		MaxExpires:          86400 * time.Second,
		NotifyInterval:      time.Second,
		NotifyTimeoutPolicy: PolicyKeep,
		OnDeregistration:    PolicyRemove,
		RestartSpread:       30 * time.Second,
		MaxWatchers:         1000,
		MaxPublications:     32,
		MaxBodySize:         64 << 10,
		MaxQueue:            256,
		NotifyWorkers:       64,
		NotifyQueue:         1 << 16,
	}
}

// Validate checks every key; errors name the key with the "presence." prefix.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("presence.%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if len(c.Domains) == 0 {
		bad("domains", "at least one served domain is required")
	}
	for i, d := range c.Domains {
		if _, err := ParseAOR("sip:x@" + d); err != nil || strings.ContainsAny(d, ":[]") {
			bad(fmt.Sprintf("domains[%d]", i), "%q is not a domain name", d)
		}
	}
	if c.MinExpires <= 0 || c.MinExpires%time.Second != 0 {
		bad("min_expires", "must be a positive whole number of seconds, got %v", c.MinExpires)
	}
	if c.MaxExpires < c.MinExpires || c.MaxExpires%time.Second != 0 {
		bad("max_expires", "must be whole seconds and at least min_expires (%v), got %v", c.MinExpires, c.MaxExpires)
	}
	if c.DefaultExpires < c.MinExpires || c.DefaultExpires > c.MaxExpires || c.DefaultExpires%time.Second != 0 {
		bad("default_expires", "must be whole seconds between min_expires and max_expires, got %v", c.DefaultExpires)
	}
	if c.NotifyInterval < 0 {
		bad("notify_interval", "must not be negative, got %v", c.NotifyInterval)
	}
	if c.NotifyTimeoutPolicy != PolicyKeep && c.NotifyTimeoutPolicy != PolicyTerminate {
		bad("notify_timeout_policy", "must be %q or %q, got %q", PolicyKeep, PolicyTerminate, c.NotifyTimeoutPolicy)
	}
	if c.OnDeregistration != PolicyRemove && c.OnDeregistration != PolicyKeep {
		bad("on_deregistration", "must be %q or %q, got %q", PolicyRemove, PolicyKeep, c.OnDeregistration)
	}
	if c.RestartSpread < 0 {
		bad("restart_spread", "must not be negative, got %v", c.RestartSpread)
	}
	for _, kv := range []struct {
		key string
		v   int
	}{
		{"max_watchers", c.MaxWatchers}, {"max_publications", c.MaxPublications},
		{"max_body_size", c.MaxBodySize}, {"max_queue", c.MaxQueue},
		{"notify_workers", c.NotifyWorkers}, {"notify_queue", c.NotifyQueue},
	} {
		if kv.v <= 0 {
			bad(kv.key, "must be positive, got %d", kv.v)
		}
	}
	ids := make([]string, 0, len(c.PublishAs))
	for id := range c.PublishAs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, err := ParseAOR(id); err != nil {
			bad(fmt.Sprintf("publish_as[%q]", id), "%v", err)
		}
		for i, p := range c.PublishAs[id] {
			if _, err := ParseAOR(p); err != nil {
				bad(fmt.Sprintf("publish_as[%q][%d]", id, i), "%v", err)
			}
		}
	}
	return errors.Join(errs...)
}
