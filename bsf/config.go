package bsf

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Config is the bootstrapping server's configuration (yaml prefix "bsf").
type Config struct {
	// Listen is the Ub HTTP listener (TS 24.109 §4).
	Listen string `yaml:"listen"`
	// ServerName is the BSF server name: the Ub realm and the domain part of every B-TID.
	ServerName string `yaml:"server_name"`
	// KeyLifetime is how long a bootstrapped Ks (and every Ks_NAF from it) stays valid.
	KeyLifetime time.Duration `yaml:"key_lifetime"`
	// ChallengeLifetime is how long an AKA nonce may be answered before it is stale.
	ChallengeLifetime time.Duration `yaml:"challenge_lifetime"`
	// MaxPending bounds the outstanding AKA challenges; beyond it Ub answers 503.
	MaxPending int `yaml:"max_pending"`
	// SweepInterval is how often expired bootstrapping sessions are deleted from the store.
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// Vectors selects the authentication vector source: "local" (Milenage from the
	// subscriber file) or "zh" (MAR/MAA to the HSS).
	Vectors string `yaml:"vectors"`
	// Subscribers is the subscriber file of the local source; empty: the built-in demo users.
	Subscribers string `yaml:"subscribers"`
	// AllowedNAFs lists the NAF FQDNs the Zn server answers (others get 5402); empty: any.
	AllowedNAFs []string `yaml:"allowed_nafs"`
	// Zh is the Diameter client towards the HSS, used when Vectors is "zh".
	Zh DiameterPeer `yaml:"zh"`
	// Zn is the Diameter identity of the Zn server.
	Zn DiameterPeer `yaml:"zn"`
}

// DiameterPeer names a Diameter peer: its address and the identities on the wire.
type DiameterPeer struct {
	// Address is host:port: the peer to connect to (Zh) or the listener (Zn).
	Address          string `yaml:"address"`
	OriginHost       string `yaml:"origin_host"`
	OriginRealm      string `yaml:"origin_realm"`
	DestinationHost  string `yaml:"destination_host"`
	DestinationRealm string `yaml:"destination_realm"`
}

// DefaultConfig is the lab profile of imsps serve: Ub on 127.0.0.1:8082, local vectors
// for the demo subscribers, Zh towards the embedded HSS simulator on 127.0.0.1:3868.
func DefaultConfig() Config {
	return Config{
		Listen:            "127.0.0.1:8082",
		ServerName:        "bsf.example.com",
		KeyLifetime:       time.Hour,
		ChallengeLifetime: time.Minute,
		MaxPending:        100000,
		SweepInterval:     time.Minute,
		Vectors:           "local",
		Zh: DiameterPeer{
			Address:          "127.0.0.1:3868",
			OriginHost:       "bsf.example.com",
			OriginRealm:      "example.com",
			DestinationRealm: "example.com",
		},
		Zn: DiameterPeer{
			Address:     "127.0.0.1:3870",
			OriginHost:  "bsf.example.com",
			OriginRealm: "example.com",
		},
	}
}

// Validate checks the configuration; errors name the key with the "bsf." prefix.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("bsf.%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "not host:port: %q", c.Listen)
	}
	if c.ServerName == "" || strings.ContainsAny(c.ServerName, "@/ ") {
		bad("server_name", "not a host name: %q", c.ServerName)
	}
	if c.KeyLifetime <= 0 {
		bad("key_lifetime", "must be positive")
	}
	if c.ChallengeLifetime <= 0 {
		bad("challenge_lifetime", "must be positive")
	}
	if c.MaxPending <= 0 {
		bad("max_pending", "must be positive")
	}
	if c.SweepInterval <= 0 {
		bad("sweep_interval", "must be positive")
	}
	switch c.Vectors {
	case "local":
	case "zh":
		if _, _, err := net.SplitHostPort(c.Zh.Address); err != nil {
			bad("zh.address", "not host:port: %q", c.Zh.Address)
		}
		if c.Zh.DestinationRealm == "" {
			bad("zh.destination_realm", "missing")
		}
	default:
		bad("vectors", `want "local" or "zh", got %q`, c.Vectors)
	}
	for _, p := range []struct {
		key string
		p   DiameterPeer
	}{{"zh", c.Zh}, {"zn", c.Zn}} {
		if p.p.OriginHost == "" {
			bad(p.key+".origin_host", "missing")
		}
		if p.p.OriginRealm == "" {
			bad(p.key+".origin_realm", "missing")
		}
	}
	if c.Zn.Address != "" {
		if _, _, err := net.SplitHostPort(c.Zn.Address); err != nil {
			bad("zn.address", "not host:port: %q", c.Zn.Address)
		}
	}
	for i, n := range c.AllowedNAFs {
		if n == "" || strings.ContainsAny(n, "/@: ") {
			bad(fmt.Sprintf("allowed_nafs[%d]", i), "not an FQDN: %q", n)
		}
	}
	return errors.Join(errs...)
}
