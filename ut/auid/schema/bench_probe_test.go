package schema

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
)

func BenchmarkProbe(b *testing.B) {
	var s strings.Builder
	s.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
 <list name="friends">
`)
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&s, "  <entry uri=\"sip:user%d@example.com\">\n   <display-name>User Number %d</display-name>\n  </entry>\n", i, i)
	}
	s.WriteString(" </list>\n</resource-lists>\n")
	d := []byte(s.String())
	v, err := Compile(b.Context(), xml.Name{Space: "urn:ietf:params:xml:ns:resource-lists", Local: "resource-lists"}, nil, "resource-lists.xsd")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := v.Validate(b.Context(), d); err != nil {
			b.Fatal(err)
		}
	}
}
