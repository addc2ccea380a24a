package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decodeYAML decodes data over cfg, refusing unknown keys. name is the file name used in
// errors; an error names the file, the key and what is wrong.
func decodeYAML(name string, data []byte, cfg any) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = withKey(&root, m)
		}
		return fmt.Errorf("%s: %s", name, strings.Join(msgs, "; "))
	}
	return fmt.Errorf("%s: %w", name, err)
}

var lineRE = regexp.MustCompile(`^line (\d+): `)

// withKey rewrites "line 12: cannot unmarshal ..." as "line 12: sip.listen_udp: cannot ...".
func withKey(root *yaml.Node, msg string) string {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	line, _ := strconv.Atoi(m[1])
	if path := keyAt(root, line, ""); path != "" {
		return m[0] + path + ": " + msg[len(m[0]):]
	}
	return msg
}

// keyAt finds the dotted key path of the mapping key or value on a line.
func keyAt(n *yaml.Node, line int, prefix string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if p := keyAt(c, line, prefix); p != "" {
				return p
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := k.Value
			if prefix != "" {
				path = prefix + "." + k.Value
			}
			if p := keyAt(v, line, path); p != "" {
				return p
			}
			if k.Line == line {
				return path
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			path := fmt.Sprintf("%s[%d]", prefix, i)
			if p := keyAt(c, line, path); p != "" {
				return p
			}
			if c.Line == line && c.Kind == yaml.ScalarNode {
				return path
			}
		}
	case yaml.ScalarNode:
		if n.Line == line {
			return prefix
		}
	}
	return ""
}

// loadConfig returns the built-in defaults, overlaid with the file at path when one is given.
func loadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	if path == "" {
		return cfg, cfg.Validate()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	if err := decodeYAML(path, data, &cfg); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
