package configs

import (
	"bytes"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultSubscribers is configs/subscribers.yaml as shipped: the demo users alice and bob.
//
//go:embed subscribers.yaml
var DefaultSubscribers []byte

// Subscriber is one entry of a subscriber file.
type Subscriber struct {
	IMPI     string   `yaml:"impi"`
	IMPUs    []string `yaml:"impus"`
	Password string   `yaml:"password"`
	K        string   `yaml:"k"`
	OPc      string   `yaml:"opc"`
	AMF      string   `yaml:"amf"`
	SQN      string   `yaml:"sqn"`
	State    string   `yaml:"state"`
	// RepositoryData maps a Service-Indication to its transparent data.
	RepositoryData map[string]string `yaml:"repository_data"`
}

// Subscribers is a parsed subscriber file.
type Subscribers struct {
	Subscribers []Subscriber `yaml:"subscribers"`
}

// LoadSubscribers reads a subscriber file; an empty path means the built-in demo file.
func LoadSubscribers(path string) (*Subscribers, error) {
	data := DefaultSubscribers
	name := "built-in subscribers.yaml"
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, err
		}
		name = path
	}
	s, err := ParseSubscribers(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

var userStates = map[string]bool{
	"": true, "NOT_REGISTERED": true, "REGISTERED": true,
	"REGISTERED_UNREG_SERVICES": true, "AUTHENTICATION_PENDING": true,
}

// ParseSubscribers parses and checks a subscriber file; errors name the entry and key.
func ParseSubscribers(data []byte) (*Subscribers, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Subscribers
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, sub := range s.Subscribers {
		at := func(key string) string { return fmt.Sprintf("subscribers[%d].%s", i, key) }
		if sub.IMPI == "" {
			return nil, fmt.Errorf("%s: missing", at("impi"))
		}
		if len(sub.IMPUs) == 0 {
			return nil, fmt.Errorf("%s: at least one public identity needed", at("impus"))
		}
		for j, u := range sub.IMPUs {
			if !strings.HasPrefix(u, "sip:") && !strings.HasPrefix(u, "tel:") {
				return nil, fmt.Errorf("%s[%d]: %q is not a sip: or tel: URI", at("impus"), j, u)
			}
			if seen[u] {
				return nil, fmt.Errorf("%s[%d]: %q belongs to another subscriber too", at("impus"), j, u)
			}
			seen[u] = true
		}
		for _, f := range []struct {
			key, val string
			size     int
		}{{"k", sub.K, 16}, {"opc", sub.OPc, 16}, {"amf", sub.AMF, 2}, {"sqn", sub.SQN, 6}} {
			if f.val == "" {
				continue
			}
			if b, err := hex.DecodeString(f.val); err != nil || len(b) != f.size {
				return nil, fmt.Errorf("%s: want %d hex digits, got %q", at(f.key), 2*f.size, f.val)
			}
		}
		if !userStates[sub.State] {
			return nil, fmt.Errorf("%s: unknown IMSUserState %q", at("state"), sub.State)
		}
	}
	return &s, nil
}

// ByIMPU returns the subscriber that owns a public identity.
func (s *Subscribers) ByIMPU(impu string) (Subscriber, bool) {
	for _, sub := range s.Subscribers {
		for _, u := range sub.IMPUs {
			if u == impu {
				return sub, true
			}
		}
	}
	return Subscriber{}, false
}

// ByIMPI returns the subscriber with a private identity.
func (s *Subscribers) ByIMPI(impi string) (Subscriber, bool) {
	for _, sub := range s.Subscribers {
		if sub.IMPI == impi {
			return sub, true
		}
	}
	return Subscriber{}, false
}
