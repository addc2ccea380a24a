package pidf

import (
	"fmt"
	"testing"
)

// publication is a typical PUBLISH body: two tuples and an RPID person.
func publication(n int) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid"
    entity="sip:alice@example.com">
  <tuple id="t%[1]d-sip">
    <status><basic>open</basic></status>
    <dm:deviceID>urn:uuid:%[1]d</dm:deviceID>
    <contact priority="0.8">sip:alice@192.0.2.%[1]d:5060</contact>
    <note xml:lang="en">Available</note>
    <timestamp>2026-11-21T07:00:00Z</timestamp>
  </tuple>
  <tuple id="t%[1]d-im">
    <status><basic>open</basic></status>
    <rpid:class>im</rpid:class>
    <contact>im:alice@example.com</contact>
  </tuple>
  <dm:person id="p%[1]d">
    <rpid:activities><rpid:on-the-phone/></rpid:activities>
    <rpid:mood><rpid:happy/></rpid:mood>
    <rpid:place-type><rpid:other>office</rpid:other></rpid:place-type>
    <c:homepage>http://example.com/alice</c:homepage>
    <dm:timestamp>2026-11-21T07:00:00Z</dm:timestamp>
  </dm:person>
</presence>`, n)
}

func BenchmarkParse(b *testing.B) {
	body := publication(1)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompose composes three publications of two tuples and an RPID person each.
func BenchmarkCompose(b *testing.B) {
	var soft []Source
	for i := range 3 {
		d, err := Parse(publication(i))
		if err != nil {
			b.Fatal(err)
		}
		soft = append(soft, src(fmt.Sprint("etag", i), i, d))
	}
	out := Compose("sip:alice@example.com", nil, soft)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		Compose("sip:alice@example.com", nil, soft)
	}
}
