package ut

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func nestedDoc(depth int) string {
	// presence is level 1, x level 2, then depth-2 levels of e.
	n := depth - 2
	return `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><x xmlns="urn:x">` +
		strings.Repeat("<e>", n) + strings.Repeat("</e>", n) + `</x></presence>`
}

func attrsDoc(n int, dupAt int, prefixed bool) string {
	var b strings.Builder
	b.WriteString(`<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:p="urn:p" entity="sip:alice@example.com"`)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("a%d", i)
		if i == dupAt {
			name = "a0"
		}
		if prefixed {
			name = "p:" + name
		}
		fmt.Fprintf(&b, ` %s="v"`, name)
	}
	b.WriteString(`/>`)
	return b.String()
}

// TestHostileDocuments (RFC 4825 §8.2.1, §11): nesting beyond maxDepth is a
// constraint-failure; parsing many attributes or namespace declarations stays linear (the
// duplicate and prefix checks were quadratic: 80,000 attributes in a 1 MiB body took 11 s
// of CPU, 140,000 nested elements over a minute) and still finds duplicates (XML 1.0 §3.1,
// Namespaces in XML §6.3).
func TestHostileDocuments(t *testing.T) {
	decls := strings.Repeat(` xmlns:q="urn:q"`, 1)
	for i := 0; i < 5000; i++ {
		decls += fmt.Sprintf(` xmlns:n%d="urn:n%d"`, i, i)
	}
	tests := []struct {
		name string
		doc  string
		tag  string // conflict tag, "" for a document that parses
	}{
		{"nesting at maxDepth parses", nestedDoc(maxDepth), ""},
		{"nesting beyond maxDepth: constraint-failure", nestedDoc(maxDepth + 1), "constraint-failure"},
		{"140,000 levels: constraint-failure", nestedDoc(140000), "constraint-failure"},
		{"50,000 attributes parse", attrsDoc(50000, -1, false), ""},
		{"50,000 attributes, duplicate last: not-well-formed", attrsDoc(50000, 49999, false), "not-well-formed"},
		{"50,000 prefixed attributes, duplicate: not-well-formed", attrsDoc(50000, 30000, true), "not-well-formed"},
		{"few attributes, duplicate: not-well-formed", attrsDoc(3, 2, false), "not-well-formed"},
		{"5,000 namespace declarations on each of 50 nested elements",
			`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><x xmlns="urn:x">` +
				strings.Repeat("<e"+decls+">", 50) + strings.Repeat("<q:e/>", 2000) + strings.Repeat("</e>", 50) + `</x></presence>`, ""},
		{"undeclared prefix deep down: not-well-formed", strings.Replace(nestedDoc(100), "<e></e>", "<z:e></z:e>", 1), "not-well-formed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseXML([]byte(tt.doc))
			if tt.tag == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var c *Conflict
			if err == nil || !errors.As(xmlConflict(err, false), &c) || c.Tag != tt.tag {
				t.Fatalf("got %v (%+v), want %s", err, c, tt.tag)
			}
		})
	}
}
