package hss

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// Config is the simulator's configuration (yaml prefix "hss").
type Config struct {
	// Enabled runs the simulator inside "imsps serve" (it always runs under "imsps hss").
	Enabled     bool   `yaml:"enabled"`
	Listen      string `yaml:"listen"` // Diameter TCP listen address
	OriginHost  string `yaml:"origin_host"`
	OriginRealm string `yaml:"origin_realm"`
	// SubscribersFile is a configs/subscribers.yaml-style file; empty means the built-in demo users.
	SubscribersFile string `yaml:"subscribers_file"`
	// OpenProvisioningDomains: every SIP identity of these domains exists as its own subscriber.
	OpenProvisioningDomains []string `yaml:"open_provisioning_domains"`
	// OpenProvisioningState is the IMSUserState of such subscribers.
	OpenProvisioningState string `yaml:"open_provisioning_state"`
	// AdminListen is the HTTP admin API address; empty disables it.
	AdminListen string `yaml:"admin_listen"`
	// SCSCFName is the S-CSCF reported for registered users.
	SCSCFName string `yaml:"scscf_name"`
	// MaxSubscriptionExpiry caps the Expiry-Time granted to SNR.
	MaxSubscriptionExpiry time.Duration `yaml:"max_subscription_expiry"`
	// MaxRepositoryData bounds ServiceData per Service-Indication (larger gets 5008).
	MaxRepositoryData int           `yaml:"max_repository_data"`
	Watchdog          time.Duration `yaml:"watchdog"`
}

// DefaultConfig is the lab profile of the design: 127.0.0.1:3868, open provisioning for example.com.
func DefaultConfig() Config {
	return Config{
		Enabled:                 true,
		Listen:                  "127.0.0.1:3868",
		OriginHost:              "hss.example.com",
		OriginRealm:             "example.com",
		OpenProvisioningDomains: []string{"example.com"},
		OpenProvisioningState:   "REGISTERED",
		AdminListen:             "127.0.0.1:8089",
		SCSCFName:               "sip:scscf.example.com",
		MaxSubscriptionExpiry:   24 * time.Hour,
		MaxRepositoryData:       64 << 10,
		Watchdog:                30 * time.Second,
	}
}

// Validate checks the configuration; errors name the key.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("hss.listen: %q is not host:port", c.Listen)
	}
	if c.AdminListen != "" {
		if _, _, err := net.SplitHostPort(c.AdminListen); err != nil {
			return fmt.Errorf("hss.admin_listen: %q is not host:port", c.AdminListen)
		}
	}
	if c.OriginHost == "" || strings.ContainsAny(c.OriginHost, " ;") {
		return fmt.Errorf("hss.origin_host: %q is not a DiameterIdentity", c.OriginHost)
	}
	if c.OriginRealm == "" {
		return fmt.Errorf("hss.origin_realm: missing")
	}
	for i, d := range c.OpenProvisioningDomains {
		if d == "" || strings.ContainsAny(d, " @:/") {
			return fmt.Errorf("hss.open_provisioning_domains[%d]: %q is not a domain", i, d)
		}
	}
	if _, ok := parseState(c.OpenProvisioningState); !ok {
		return fmt.Errorf("hss.open_provisioning_state: unknown IMSUserState %q", c.OpenProvisioningState)
	}
	if c.MaxSubscriptionExpiry <= 0 {
		return fmt.Errorf("hss.max_subscription_expiry: must be positive")
	}
	if c.MaxRepositoryData <= 0 {
		return fmt.Errorf("hss.max_repository_data: must be positive")
	}
	if c.Watchdog <= 0 {
		return fmt.Errorf("hss.watchdog: must be positive")
	}
	return nil
}
