package ut

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Config is the XCAP server's configuration, yaml prefix "xcap".
type Config struct {
	// Listen is the HTTP listen address (used by cmd/imsps to open the listener).
	Listen string `yaml:"listen"`
	// Root is the XCAP root path (RFC 4825 §6.1).
	Root string `yaml:"root"`
	// TrustedProxies are the addresses (IPs or CIDR prefixes) of authentication proxies
	// whose X-3GPP-Asserted-Identity is believed. Empty: nobody's.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Admins are identities that may read and write every user's documents and the global tree.
	Admins []string `yaml:"admins"`
	// SubscribersFile is the subscriber file for Digest/Basic users and identity aliases
	// (configs.LoadSubscribers; empty: the built-in demo users).
	SubscribersFile string       `yaml:"subscribers_file"`
	Digest          DigestConfig `yaml:"digest"`
	// BasicOverTLS allows Basic authentication on TLS connections only.
	BasicOverTLS bool `yaml:"basic_over_tls"`
	// MaxDocumentSize is the largest XML document, in bytes (413 above).
	MaxDocumentSize int `yaml:"max_document_size"`
	// MaxDocumentsPerUser bounds a user's XML documents plus MIME objects (413 above).
	MaxDocumentsPerUser int        `yaml:"max_documents_per_user"`
	MIME                MIMEConfig `yaml:"mime"`
	// ReadHeaderTimeout and IdleTimeout configure the HTTP server.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	// ParsedCacheBytes bounds the memory of parsed documents kept for node-selector
	// requests (0: no cache).
	ParsedCacheBytes int `yaml:"parsed_cache_bytes"`
}

// DigestConfig configures built-in HTTP Digest (RFC 7616).
type DigestConfig struct {
	Enabled bool `yaml:"enabled"`
	// Realm is offered in challenges; a username without "@" is taken as user@realm.
	Realm string `yaml:"realm"`
	// Algorithms offered, in order of preference: "SHA-256", "MD5".
	Algorithms []string `yaml:"algorithms"`
	// NonceLifetime is how long a nonce stays valid (then stale=true).
	NonceLifetime time.Duration `yaml:"nonce_lifetime"`
}

// MIMEConfig configures stored MIME objects (TS 24.141 §6.3.2.4).
type MIMEConfig struct {
	// AUID is the first path segment of the MIME-object folders:
	// <root>/<auid>/users/<XUI>/<path>. Empty disables MIME objects.
	AUID string `yaml:"auid"`
	// MaxSize is the largest object in bytes (413 above).
	MaxSize int `yaml:"max_size"`
}

// DefaultConfig is the lab profile: 127.0.0.1:8080/xcap-root, no trusted proxy, Digest
// for the demo subscribers.
func DefaultConfig() Config {
	return Config{
		Listen: "127.0.0.1:8080",
		Root:   "/xcap-root",
		Digest: DigestConfig{
			Enabled:       true,
			Realm:         "example.com",
			Algorithms:    []string{"SHA-256", "MD5"},
			NonceLifetime: 5 * time.Minute,
		},
		MaxDocumentSize:     1 << 20,
		MaxDocumentsPerUser: 1000,
		MIME:                MIMEConfig{AUID: "mime-objects", MaxSize: 4 << 20},
		ReadHeaderTimeout:   10 * time.Second,
		IdleTimeout:         2 * time.Minute,
		ParsedCacheBytes:    64 << 20,
	}
}

// Validate checks the configuration; errors name the key with the "xcap." prefix.
func (c Config) Validate() error {
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("xcap.listen: %q is not host:port", c.Listen)
		}
	}
	if !strings.HasPrefix(c.Root, "/") || strings.Contains(c.Root, "~~") || strings.ContainsAny(c.Root, "?#%[]\" ") {
		return fmt.Errorf("xcap.root: %q must be an absolute path without ~~, %%, ?, #, [, ], quotes or spaces", c.Root)
	}
	for i, p := range c.TrustedProxies {
		if _, err := parsePrefix(p); err != nil {
			return fmt.Errorf("xcap.trusted_proxies[%d]: %q is neither an IP address nor a CIDR prefix", i, p)
		}
	}
	for i, a := range c.Admins {
		if !strings.HasPrefix(a, "sip:") && !strings.HasPrefix(a, "tel:") && !strings.HasPrefix(a, "sips:") {
			return fmt.Errorf("xcap.admins[%d]: %q is not a sip:, sips: or tel: URI", i, a)
		}
	}
	if c.Digest.Enabled {
		if c.Digest.Realm == "" {
			return fmt.Errorf("xcap.digest.realm: needed when digest is enabled")
		}
		if len(c.Digest.Algorithms) == 0 {
			return fmt.Errorf("xcap.digest.algorithms: at least one of SHA-256, MD5")
		}
		for i, a := range c.Digest.Algorithms {
			if a != "SHA-256" && a != "MD5" {
				return fmt.Errorf("xcap.digest.algorithms[%d]: %q is neither SHA-256 nor MD5", i, a)
			}
		}
		if c.Digest.NonceLifetime <= 0 {
			return fmt.Errorf("xcap.digest.nonce_lifetime: must be positive")
		}
	}
	if c.MaxDocumentSize <= 0 {
		return fmt.Errorf("xcap.max_document_size: must be positive")
	}
	if c.MaxDocumentsPerUser <= 0 {
		return fmt.Errorf("xcap.max_documents_per_user: must be positive")
	}
	if c.MIME.AUID != "" {
		if strings.ContainsAny(c.MIME.AUID, "/%?#") {
			return fmt.Errorf("xcap.mime.auid: %q must be one path segment", c.MIME.AUID)
		}
		if c.MIME.MaxSize <= 0 {
			return fmt.Errorf("xcap.mime.max_size: must be positive")
		}
	}
	if c.ParsedCacheBytes < 0 {
		return fmt.Errorf("xcap.parsed_cache_bytes: must not be negative")
	}
	return nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}
