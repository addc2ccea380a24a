package sh

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imsps/imsps/diameter/peer"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"defaults", func(*Config) {}, ""},
		{"no peers", func(c *Config) { c.Peers = nil }, "sh.peers"},
		{"peer addr", func(c *Config) { c.Peers = []peer.PeerConfig{{Addr: "hss"}} }, "sh.peers[0].addr"},
		{"origin host", func(c *Config) { c.OriginHost = "" }, "sh.origin_host"},
		{"origin realm", func(c *Config) { c.OriginRealm = "a b" }, "sh.origin_realm"},
		{"destination realm", func(c *Config) { c.DestinationRealm = "" }, "sh.destination_realm"},
		{"lookup deadline", func(c *Config) { c.LookupDeadline = 0 }, "sh.lookup_deadline"},
		{"cache size", func(c *Config) { c.CacheSize = 0 }, "sh.cache_size"},
		{"subscription expiry", func(c *Config) { c.SubscriptionExpiry = time.Second }, "sh.subscription_expiry"},
		{"no subscriptions, no expiry needed", func(c *Config) { c.Subscribe = false; c.SubscriptionExpiry = 0 }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mod(&cfg)
			err := cfg.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
				t.Fatalf("err = %v, want prefix %q", err, tc.want)
			}
		})
	}
	if d := DefaultConfig(); d.LookupDeadline != 2*time.Second || d.Peers[0].Addr != "127.0.0.1:3868" {
		t.Fatalf("defaults: %+v", d)
	}
}

func TestConfigYAML(t *testing.T) {
	cfg := DefaultConfig()
	in := `
peers:
  - {addr: "10.0.0.1:3868", host: hss1.op.net, realm: op.net}
  - {addr: "10.0.0.2:3868"}
origin_host: ps1.op.net
origin_realm: op.net
destination_realm: op.net
lookup_deadline: 1500ms
cache_ttl: 10m
subscribe: false
`
	if err := yaml.Unmarshal([]byte(in), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.LookupDeadline != 1500*time.Millisecond || cfg.CacheTTL != 10*time.Minute || len(cfg.Peers) != 2 || cfg.Peers[1].Realm != "" || cfg.Subscribe {
		t.Fatalf("%+v", cfg)
	}
}
