package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imsps/imsps/configs"
	"gopkg.in/yaml.v3"
)

// configs/imsps.yaml must say exactly what the built-in defaults are, and name every key.
func TestShippedConfigIsTheDefaults(t *testing.T) {
	var fromFile Config
	if err := decodeYAML("configs/imsps.yaml", configs.Default, &fromFile); err != nil {
		t.Fatal(err)
	}
	want, _ := yaml.Marshal(DefaultConfig())
	got, _ := yaml.Marshal(fromFile)
	if string(got) != string(want) {
		t.Fatalf("configs/imsps.yaml differs from DefaultConfig():\nfile:\n%s\ndefaults:\n%s", got, want)
	}
	var file, defaults yaml.Node
	yaml.Unmarshal(configs.Default, &file)
	yaml.Unmarshal(want, &defaults)
	for _, key := range keys(&defaults, "") {
		if !hasKey(&file, key) {
			t.Errorf("configs/imsps.yaml does not document %s", key)
		}
	}
}

func keys(n *yaml.Node, prefix string) []string {
	if n.Kind == yaml.DocumentNode {
		return keys(n.Content[0], prefix)
	}
	var out []string
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := prefix + n.Content[i].Value
		out = append(out, k)
		out = append(out, keys(n.Content[i+1], k+".")...)
	}
	return out
}

func hasKey(n *yaml.Node, key string) bool {
	if n.Kind == yaml.DocumentNode {
		return hasKey(n.Content[0], key)
	}
	first, rest, more := strings.Cut(key, ".")
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == first {
			return !more || hasKey(n.Content[i+1], rest)
		}
	}
	return false
}

func TestBadConfigNamesFileAndKey(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "sip:\n  udpp: 1.2.3.4:5060\n", []string{"bad.yaml", "udpp"}},
		{"wrong type", "presence:\n  min_expires: soon\n", []string{"bad.yaml", "presence.min_expires"}},
		{"invalid value", "presence:\n  notify_timeout_policy: maybe\n", []string{"bad.yaml", "presence.notify_timeout_policy"}},
		{"bad listener", "sip:\n  udp: nonsense\n", []string{"bad.yaml", "sip.udp"}},
		{"bad log format", "log:\n  format: xml\n", []string{"bad.yaml", "log.format"}},
		{"collector target zero", "runtime:\n  gc_percent: 0\n", []string{"bad.yaml", "runtime.gc_percent"}},
		{"not yaml", "sip: [\n", []string{"bad.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.yaml")
			os.WriteFile(path, []byte(tc.yaml), 0o600)
			_, err := loadConfig(path)
			if err == nil {
				t.Fatal("bad config accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestServeExitsNonZeroOnBadConfigBeforeListening(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("sip:\n  udp: 127.0.0.1:0\n  tcp: 127.0.0.1:0\npresence:\n  domains: []\n"), 0o600)
	var out, errb strings.Builder
	if code := run([]string{"serve", "--config", path, "--data", t.TempDir()}, &out, &errb); code == 0 {
		t.Fatal("serve with a bad config exited 0")
	}
	if !strings.Contains(errb.String(), "presence.domains") {
		t.Fatalf("stderr %q does not name presence.domains", errb.String())
	}
}
