package sh

import (
	"fmt"
	"net"
	"time"

	"github.com/imsps/imsps/diameter/peer"
)

// Config is the Sh client's configuration (yaml prefix "sh").
type Config struct {
	// Peers are the HSSs (or DRAs) to connect to, in order of preference.
	Peers            []peer.PeerConfig `yaml:"peers"`
	OriginHost       string            `yaml:"origin_host"`
	OriginRealm      string            `yaml:"origin_realm"`
	DestinationRealm string            `yaml:"destination_realm"`
	// DestinationHost, when set, names the HSS in every request.
	DestinationHost string `yaml:"destination_host"`
	// ServerName is this AS's SIP URI, sent as Server-Name when set.
	ServerName string `yaml:"server_name"`
	// RequestTimeout bounds one attempt on one peer before failing over.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// LookupDeadline bounds a directory lookup that misses the cache; past it the
	// lookup fails with *as.DirectoryUnavailableError.
	LookupDeadline time.Duration `yaml:"lookup_deadline"`
	// RetryAfter is the Retry-After a DirectoryUnavailableError suggests.
	RetryAfter time.Duration `yaml:"retry_after"`
	CacheTTL   time.Duration `yaml:"cache_ttl"`
	CacheSize  int           `yaml:"cache_size"`
	// ServiceIndication keys the repository data imsps reads, writes and subscribes to.
	ServiceIndication string `yaml:"service_indication"`
	// Subscribe sends SNR for IMSUserState and the repository data of every looked-up user.
	Subscribe bool `yaml:"subscribe"`
	// SubscriptionExpiry is the Expiry-Time asked for in SNR; subscriptions are renewed
	// when a third of it is left.
	SubscriptionExpiry time.Duration `yaml:"subscription_expiry"`
	Watchdog           time.Duration `yaml:"watchdog"`
}

// DefaultConfig is the lab profile: the embedded HSS simulator on 127.0.0.1:3868.
func DefaultConfig() Config {
	return Config{
		Peers:              []peer.PeerConfig{{Addr: "127.0.0.1:3868", Host: "hss.example.com", Realm: "example.com"}},
		OriginHost:         "as.example.com",
		OriginRealm:        "example.com",
		DestinationRealm:   "example.com",
		RequestTimeout:     time.Second,
		LookupDeadline:     2 * time.Second,
		RetryAfter:         5 * time.Second,
		CacheTTL:           5 * time.Minute,
		CacheSize:          100000,
		ServiceIndication:  "IMSPS-PRESENCE",
		Subscribe:          true,
		SubscriptionExpiry: time.Hour,
		Watchdog:           30 * time.Second,
	}
}

// Validate checks the configuration; errors name the key.
func (c Config) Validate() error {
	if len(c.Peers) == 0 {
		return fmt.Errorf("sh.peers: at least one peer needed")
	}
	for i, p := range c.Peers {
		if _, _, err := net.SplitHostPort(p.Addr); err != nil {
			return fmt.Errorf("sh.peers[%d].addr: %q is not host:port", i, p.Addr)
		}
	}
	if err := c.identity().Validate("sh"); err != nil {
		return err
	}
	if c.DestinationRealm == "" {
		return fmt.Errorf("sh.destination_realm: missing")
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"request_timeout", c.RequestTimeout}, {"lookup_deadline", c.LookupDeadline}, {"retry_after", c.RetryAfter}, {"cache_ttl", c.CacheTTL}, {"watchdog", c.Watchdog}} {
		if d.v <= 0 {
			return fmt.Errorf("sh.%s: must be positive, got %v", d.key, d.v)
		}
	}
	if c.CacheSize <= 0 {
		return fmt.Errorf("sh.cache_size: must be positive, got %d", c.CacheSize)
	}
	if c.Subscribe && c.SubscriptionExpiry < time.Minute {
		return fmt.Errorf("sh.subscription_expiry: at least 1m, got %v", c.SubscriptionExpiry)
	}
	return nil
}

func (c Config) identity() peer.Identity {
	return peer.Identity{OriginHost: c.OriginHost, OriginRealm: c.OriginRealm}
}
