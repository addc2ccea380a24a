package ut

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Config)
		wantKey string
	}{
		{"defaults are valid", func(*Config) {}, ""},
		{"listen not host:port", func(c *Config) { c.Listen = "8080" }, "xcap.listen"},
		{"root not absolute", func(c *Config) { c.Root = "xcap-root" }, "xcap.root"},
		{"root with ~~", func(c *Config) { c.Root = "/a/~~" }, "xcap.root"},
		{"trusted proxy not an address", func(c *Config) { c.TrustedProxies = []string{"127.0.0.1", "proxy"} }, "xcap.trusted_proxies[1]"},
		{"trusted proxy CIDR", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/8"} }, ""},
		{"admin not a URI", func(c *Config) { c.Admins = []string{"admin"} }, "xcap.admins[0]"},
		{"digest realm", func(c *Config) { c.Digest.Realm = "" }, "xcap.digest.realm"},
		{"digest algorithm", func(c *Config) { c.Digest.Algorithms = []string{"SHA-1"} }, "xcap.digest.algorithms[0]"},
		{"digest off needs no realm", func(c *Config) { c.Digest.Enabled = false; c.Digest.Realm = "" }, ""},
		{"document size", func(c *Config) { c.MaxDocumentSize = 0 }, "xcap.max_document_size"},
		{"documents per user", func(c *Config) { c.MaxDocumentsPerUser = -1 }, "xcap.max_documents_per_user"},
		{"mime auid with a slash", func(c *Config) { c.MIME.AUID = "a/b" }, "xcap.mime.auid"},
		{"mime size", func(c *Config) { c.MIME.MaxSize = 0 }, "xcap.mime.max_size"},
		{"cache bytes", func(c *Config) { c.ParsedCacheBytes = -1 }, "xcap.parsed_cache_bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.wantKey == "" && err != nil:
				t.Fatal(err)
			case tc.wantKey != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantKey+":")):
				t.Fatalf("got %v, want an error naming %s", err, tc.wantKey)
			}
		})
	}
}
