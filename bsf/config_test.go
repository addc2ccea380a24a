package bsf

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default bsf config: %v", err)
	}
	if err := DefaultAuthProxyConfig().Validate(); err != nil {
		t.Fatalf("default authproxy config: %v", err)
	}
	tests := []struct {
		name    string
		bsf     func(*Config)
		proxy   func(*AuthProxyConfig)
		wantKey string
	}{
		{name: "bsf.listen not host:port", bsf: func(c *Config) { c.Listen = "8082" }, wantKey: "bsf.listen"},
		{name: "bsf.server_name with @", bsf: func(c *Config) { c.ServerName = "a@b" }, wantKey: "bsf.server_name"},
		{name: "bsf.vectors unknown", bsf: func(c *Config) { c.Vectors = "hlr" }, wantKey: "bsf.vectors"},
		{name: "bsf.zh.address needed for zh", bsf: func(c *Config) { c.Vectors = "zh"; c.Zh.Address = "" }, wantKey: "bsf.zh.address"},
		{name: "bsf.allowed_nafs entry", bsf: func(c *Config) { c.AllowedNAFs = []string{"ok.example.com", "a/b"} }, wantKey: "bsf.allowed_nafs[1]"},
		{name: "bsf.key_lifetime zero", bsf: func(c *Config) { c.KeyLifetime = 0 }, wantKey: "bsf.key_lifetime"},
		{name: "authproxy.naf_names empty", proxy: func(c *AuthProxyConfig) { c.NAFNames = nil }, wantKey: "authproxy.naf_names"},
		{name: "authproxy.naf_names entry", proxy: func(c *AuthProxyConfig) { c.NAFNames = []string{"localhost", "bad host"} }, wantKey: "authproxy.naf_names[1]"},
		{name: "authproxy.keys unknown", proxy: func(c *AuthProxyConfig) { c.Keys = "ldap" }, wantKey: "authproxy.keys"},
		{name: "authproxy.upstream not a URL", proxy: func(c *AuthProxyConfig) { c.Upstream = "ftp://x" }, wantKey: "authproxy.upstream"},
		{name: "authproxy.tls key without cert", proxy: func(c *AuthProxyConfig) { c.TLS.KeyFile = "k.pem" }, wantKey: "authproxy.tls.key_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.bsf != nil {
				c := DefaultConfig()
				tc.bsf(&c)
				err = c.Validate()
			} else {
				c := DefaultAuthProxyConfig()
				tc.proxy(&c)
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantKey+":") {
				t.Errorf("error %v does not name %s", err, tc.wantKey)
			}
		})
	}
}
