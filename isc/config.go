package isc

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Config is the SIP adapter's configuration, yaml prefix "sip".
type Config struct {
	// UDP and TCP are the listen addresses (host:port, IPv4 or IPv6, "[::]:5060" for every
	// address). An empty value disables that transport. cmd/imsps binds them with Listen.
	UDP string `yaml:"udp"`
	TCP string `yaml:"tcp"`
	// TrustedPeers are the S-CSCF source addresses (IPs or CIDRs) whose
	// P-Asserted-Identity is honoured (TS 24.229 §4.4, RFC 3325 trust domain).
	TrustedPeers []string `yaml:"trusted_peers"`
	// Host is the host (name or IP, optionally :port) imsps puts in its Contact and
	// recognises in Route headers as itself. Empty: the address of the listener a request
	// arrived on.
	Host string `yaml:"host"`
	// Aliases are further host[:port] values that name imsps in a Route or Request-URI
	// (e.g. the AS name the S-CSCF's iFC uses).
	Aliases []string `yaml:"aliases"`
	// UDPReadBuffer and UDPWriteBuffer are the kernel socket buffer sizes (bytes) set on the
	// UDP listener, large so that request bursts are not dropped. 0 leaves the OS default.
	UDPReadBuffer  int `yaml:"udp_read_buffer"`
	UDPWriteBuffer int `yaml:"udp_write_buffer"`
	// NotifyTimeout bounds one NOTIFY client transaction (RFC 3261 Timer F is 32 s).
	NotifyTimeout time.Duration `yaml:"notify_timeout"`
	// UserAgent is the User-Agent/Server header value and the From display of our requests.
	UserAgent string `yaml:"user_agent"`
}

// DefaultConfig returns the lab profile: loopback UDP and TCP on 5060, loopback trusted.
func DefaultConfig() Config {
	return Config{
		UDP:            "127.0.0.1:5060",
		TCP:            "127.0.0.1:5060",
		TrustedPeers:   []string{"127.0.0.1", "::1"},
		UDPReadBuffer:  4 << 20,
		UDPWriteBuffer: 4 << 20,
		NotifyTimeout:  32 * time.Second,
		UserAgent:      "imsps",
	}
}

// Validate checks every key; errors name the key with the "sip." prefix.
func (c Config) Validate() error {
	if c.UDP == "" && c.TCP == "" {
		return fmt.Errorf("sip.udp, sip.tcp: at least one listener is needed")
	}
	for _, l := range []struct{ key, v string }{{"sip.udp", c.UDP}, {"sip.tcp", c.TCP}} {
		if l.v == "" {
			continue
		}
		host, _, err := net.SplitHostPort(l.v)
		if err != nil {
			return fmt.Errorf("%s: %q is not host:port: %w", l.key, l.v, err)
		}
		if ip, err := netip.ParseAddr(host); (host == "" || err == nil && ip.IsUnspecified()) && c.Host == "" {
			return fmt.Errorf("sip.host: required when %s (%q) listens on every address, to name imsps in Contact and Via", l.key, l.v)
		}
	}
	if _, err := parseTrusted(c.TrustedPeers); err != nil {
		return err
	}
	if c.Host != "" {
		if err := checkHostPort(c.Host); err != nil {
			return fmt.Errorf("sip.host: %w", err)
		}
	}
	for i, a := range c.Aliases {
		if err := checkHostPort(a); err != nil {
			return fmt.Errorf("sip.aliases[%d]: %w", i, err)
		}
	}
	if c.UDPReadBuffer < 0 {
		return fmt.Errorf("sip.udp_read_buffer: %d is negative", c.UDPReadBuffer)
	}
	if c.UDPWriteBuffer < 0 {
		return fmt.Errorf("sip.udp_write_buffer: %d is negative", c.UDPWriteBuffer)
	}
	if c.NotifyTimeout <= 0 {
		return fmt.Errorf("sip.notify_timeout: %s must be positive", c.NotifyTimeout)
	}
	if c.UserAgent == "" || strings.ContainsAny(c.UserAgent, "\r\n") {
		return fmt.Errorf("sip.user_agent: %q must be one non-empty line", c.UserAgent)
	}
	return nil
}

// checkHostPort accepts "host" or "host:port" (IPv6 in brackets when a port is given).
func checkHostPort(v string) error {
	if v == "" || strings.ContainsAny(v, " \t\r\n;<>@") {
		return fmt.Errorf("%q is not a host or host:port", v)
	}
	var u sip.Uri
	if err := sip.ParseUri("sip:"+v, &u); err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a host or host:port", v)
	}
	return nil
}

// parseTrusted turns trusted_peers into prefixes; a bare IP is a /32 or /128.
func parseTrusted(peers []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(peers))
	for i, p := range peers {
		if strings.Contains(p, "/") {
			pfx, err := netip.ParsePrefix(p)
			if err != nil {
				return nil, fmt.Errorf("sip.trusted_peers[%d]: %q is not an IP or CIDR", i, p)
			}
			out = append(out, pfx.Masked())
			continue
		}
		a, err := netip.ParseAddr(p)
		if err != nil {
			return nil, fmt.Errorf("sip.trusted_peers[%d]: %q is not an IP or CIDR", i, p)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
