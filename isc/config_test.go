package isc

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantKey string // "" = valid
	}{
		{"defaults are valid", func(*Config) {}, ""},
		{"IPv6 listeners", func(c *Config) { c.UDP, c.TCP = "[::1]:5060", "[::1]:5060" }, ""},
		{"UDP only", func(c *Config) { c.TCP = "" }, ""},
		{"no listener", func(c *Config) { c.UDP, c.TCP = "", "" }, "sip.udp"},
		{"listener not host:port", func(c *Config) { c.TCP = "localhost" }, "sip.tcp"},
		{"wildcard listener needs host", func(c *Config) { c.UDP = "0.0.0.0:5060" }, "sip.host"},
		{"wildcard listener with host", func(c *Config) { c.UDP, c.TCP, c.Host = "[::]:5060", ":5060", "ps.example.com" }, ""},
		{"trusted CIDR", func(c *Config) { c.TrustedPeers = []string{"10.0.0.0/8", "2001:db8::/32"} }, ""},
		{"trusted not an IP", func(c *Config) { c.TrustedPeers = []string{"127.0.0.1", "scscf"} }, "sip.trusted_peers[1]"},
		{"alias with spaces", func(c *Config) { c.Aliases = []string{"a b"} }, "sip.aliases[0]"},
		{"negative buffer", func(c *Config) { c.UDPReadBuffer = -1 }, "sip.udp_read_buffer"},
		{"zero notify timeout", func(c *Config) { c.NotifyTimeout = 0 }, "sip.notify_timeout"},
		{"user agent with CRLF", func(c *Config) { c.UserAgent = "x\r\nVia: evil" }, "sip.user_agent"},
		{"short notify timeout", func(c *Config) { c.NotifyTimeout = time.Second }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.wantKey == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantKey) {
				t.Fatalf("error %v, want one naming %s", err, tc.wantKey)
			}
		})
	}
}
