package pidf

import (
	"errors"
	"strings"
	"testing"
)

const pidfHead = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

func TestParseRejects(t *testing.T) {
	deep := `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@example.com"><tuple id="t"><status>` +
		strings.Repeat("<x:e xmlns:x=\"urn:x\">", MaxDepth) + strings.Repeat("</x:e>", MaxDepth) +
		`</status></tuple></presence>`
	tests := []struct {
		name, body, want string
	}{
		{"XML 1.0 §2.1: not well-formed (unclosed tag)", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a">`, "not well-formed XML"},
		{"XML 1.0 §2.1: not well-formed (empty body)", ``, "not well-formed XML"},
		{"XML 1.0 §2.1: not well-formed (two root elements)", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"/><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"/>`, "more than one root element"},
		{"XML 1.0 §2.1: not well-formed (text outside root)", `junk<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"/>`, "not well-formed XML"},
		{"XML 1.0 §4.3.3: only UTF-8", `<?xml version="1.0" encoding="ISO-8859-1"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"/>`, "not well-formed XML"},
		{"XML 1.0 §2.2: invalid UTF-8", "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"\xff\"/>", "not UTF-8"},
		{"XML 1.0 §2.8: DOCTYPE rejected", `<!DOCTYPE presence [<!ENTITY x "y">]><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="&x;"/>`, "DOCTYPE"},
		{"XML 1.0 §4.1: undefined entity reference", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="&xxe;"/>`, "not well-formed XML"},
		{"RFC 3863 §4.1.2: wrong root namespace", `<presence xmlns="urn:ietf:params:xml:ns:cpim-pidf" entity="x"/>`, "root element is {urn:ietf:params:xml:ns:cpim-pidf}presence, want {urn:ietf:params:xml:ns:pidf}presence"},
		{"RFC 3863 §4.1.2: root without namespace", `<presence entity="x"/>`, "root element is {}presence, want {urn:ietf:params:xml:ns:pidf}presence"},
		{"RFC 3863 §4.1.2: wrong root name", `<tuple xmlns="urn:ietf:params:xml:ns:pidf" id="a"/>`, "root element is {urn:ietf:params:xml:ns:pidf}tuple"},
		{"RFC 3863 §4.1.2: missing entity attribute", `<presence xmlns="urn:ietf:params:xml:ns:pidf"/>`, "missing entity attribute"},
		{"RFC 3863 §4.1.2: prefixed entity is not the entity attribute", `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:e="urn:e" e:entity="x"/>`, "missing entity attribute"},
		{"RFC 3863 §4.1.2: empty entity attribute", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity=" "/>`, "empty entity attribute"},
		{"RFC 3863 §4.1.2: unknown PIDF element in presence", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><status/></presence>`, "unexpected element {urn:ietf:params:xml:ns:pidf}status in presence"},
		{"RFC 3863 §4.1.3: tuple without id", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple><status/></tuple></presence>`, "tuple without id"},
		{"RFC 3863 §4.1.3: tuple id not an xs:ID", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="1a"><status/></tuple></presence>`, `tuple id "1a" is not a valid xs:ID`},
		{"RFC 3863 §4.1.3: tuple id with a colon", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a:b"><status/></tuple></presence>`, "not a valid xs:ID"},
		{"RFC 3863 §4.1.3: duplicate tuple ids", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status/></tuple><tuple id="a"><status/></tuple></presence>`, `duplicate id "a"`},
		{"RFC 4479: tuple and person share the id space", `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="x"><tuple id="a"><status/></tuple><dm:person id="a"/></presence>`, `duplicate id "a"`},
		{"RFC 3863 §4.1.3: tuple without status", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><contact>sip:a@b</contact></tuple></presence>`, `tuple "a" without status`},
		{"RFC 3863 §4.1.3: two status elements", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status/><status/></tuple></presence>`, "2 status elements"},
		{"RFC 3863 §4.1.3: two contacts", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status/><contact>a</contact><contact>b</contact></tuple></presence>`, "2 contact elements"},
		{"RFC 3863 §4.1.3: unknown PIDF element in tuple", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status/><basic>open</basic></tuple></presence>`, "unexpected element {urn:ietf:params:xml:ns:pidf}basic"},
		{"RFC 3863 §4.1.5: basic neither open nor closed", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status><basic>busy</basic></status></tuple></presence>`, `basic is "busy", want open or closed`},
		{"RFC 3863 §4.1.5: two basic elements", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status><basic>open</basic><basic>open</basic></status></tuple></presence>`, "2 basic elements"},
		{"RFC 3863 §4.1.6: contact priority above 1", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status/><contact priority="1.5">sip:a@b</contact></tuple></presence>`, "not a qvalue"},
		{"RFC 3863 §4.1.6: contact priority with four decimals", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status/><contact priority="0.1234">sip:a@b</contact></tuple></presence>`, "not a qvalue"},
		{"RFC 3863 §4.1.7: note with elements", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><note><b>x</b></note></presence>`, "note contains elements"},
		{"RFC 3863 §4.1.8: timestamp not an xs:dateTime", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status/><timestamp>yesterday</timestamp></tuple></presence>`, "not an xs:dateTime"},
		{"RFC 3863 §4.1.8: timestamp with month 13", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status/><timestamp>2005-13-01T00:00:00Z</timestamp></tuple></presence>`, "not an xs:dateTime"},
		{"RFC 4479: person without id", `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="x"><dm:person/></presence>`, "person without id"},
		{"RFC 4479: device without id", `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="x"><dm:device><dm:deviceID>urn:x</dm:deviceID></dm:device></presence>`, "device without id"},
		{"Namespaces in XML §5.1: undeclared element prefix", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status/><rpid:class>x</rpid:class></tuple></presence>`, `undeclared namespace prefix "rpid"`},
		{"Namespaces in XML §5.1: undeclared attribute prefix", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x" q:a="1"/>`, `undeclared namespace prefix "q"`},
		{"Namespaces in XML §5.3: duplicate expanded attribute", `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:a="urn:n" xmlns:b="urn:n" entity="x" a:z="1" b:z="2"/>`, "duplicate attribute"},
		{"XML 1.0 §3.1: duplicate attribute", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x" entity="y"/>`, "duplicate attribute"},
		{"Namespaces in XML §3: empty prefix declaration", `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:a="" entity="x"/>`, "empty namespace name"},
		{"Namespaces in XML §3: xml prefix rebound", `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:xml="urn:x" entity="x"/>`, "prefix xml"},
		{"limits: nesting too deep", deep, "nested deeper than"},
		{"limits: document too large", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><note>` + strings.Repeat("a", MaxSize) + `</note></presence>`, "above the limit"},
		{"limits: too many elements", `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:x="urn:x" entity="x">` + strings.Repeat("<x:e/>", MaxElements) + `</presence>`, "more than 4096 elements"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.body))
			if err == nil {
				t.Fatalf("Parse accepted: %+v", doc)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v, want *ParseError", err, err)
			}
			if !strings.Contains(pe.Reason, tc.want) || pe.Error() != pe.Reason {
				t.Fatalf("reason %q, want it to contain %q", pe.Reason, tc.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		kinds []Kind
		ids   []string
	}{
		{"RFC 3863 §4.1.2: presence with no tuples", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:a@example.com"/>`, nil, nil},
		{"RFC 3863 §4.1.3: minimal tuple", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status/></tuple></presence>`, []Kind{KindTuple}, []string{"a"}},
		{"RFC 3863 §4.1.5: basic with surrounding whitespace", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status><basic> closed </basic></status></tuple></presence>`, []Kind{KindTuple}, []string{"a"}},
		{"RFC 3863 §4.1.6: priority 1.000 and 0", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status/><contact priority="1.000">a</contact></tuple><tuple id="b"><status/><contact priority="0">b</contact></tuple></presence>`, []Kind{KindTuple, KindTuple}, []string{"a", "b"}},
		{"RFC 3863 §4.1.8: timestamp with fraction and offset", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple id="a"><status/><timestamp>2004-10-21T13:20:00.125-05:00</timestamp></tuple></presence>`, []Kind{KindTuple}, []string{"a"}},
		{"RFC 3863 extensibility: unknown extension namespace at presence level", `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:z="urn:example:z" entity="x"><z:thing a="1"><z:inner/></z:thing></presence>`, []Kind{KindExtension}, []string{""}},
		{"RFC 4479: person, device and tuple", `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="x"><tuple id="t"><status/></tuple><dm:person id="p"/><dm:device id="d"><dm:deviceID>urn:d</dm:deviceID></dm:device></presence>`, []Kind{KindTuple, KindPerson, KindDevice}, []string{"t", "p", "d"}},
		{"XML 1.0 §2.5: comments and PIs are dropped", `<!-- c --><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><!-- c --><?pi x?><tuple id="a"><status/><!--c--></tuple></presence>`, []Kind{KindTuple}, []string{"a"}},
		{"XML 1.0 §2.4: CDATA and character references", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><note><![CDATA[a<b]]> &#x263A; &amp;</note></presence>`, []Kind{KindNote}, []string{""}},
		{"RFC 3863 §4.1.2: person before tuple is accepted (order not checked)", `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="x"><dm:person id="p"/><tuple id="t"><status/></tuple></presence>`, []Kind{KindPerson, KindTuple}, []string{"p", "t"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(pidfHead + tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(doc.Elements) != len(tc.kinds) {
				t.Fatalf("got %d elements, want %d", len(doc.Elements), len(tc.kinds))
			}
			for i, e := range doc.Elements {
				if e.Kind != tc.kinds[i] || e.ID != tc.ids[i] {
					t.Errorf("element %d: %s %q, want %s %q", i, e.Kind, e.ID, tc.kinds[i], tc.ids[i])
				}
				if strings.Contains(string(e.XML), "<!--") || strings.Contains(string(e.XML), "<?") {
					t.Errorf("element %d keeps a comment or PI: %s", i, e.XML)
				}
			}
		})
	}
}

// TestElementXMLSelfContained checks that each element's serialization declares what it
// uses (RFC 3863 extensibility: extensions from any namespace pass through).
func TestElementXMLSelfContained(t *testing.T) {
	body := `<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid"
  xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:unused="urn:unused" xml:lang="de" entity="sip:a@example.com">
  <p:tuple id="t"><p:status><p:basic>open</p:basic></p:status><r:class>x</r:class><p:note>Hallo</p:note></p:tuple>
  <dm:person id="p"><r:activities><r:away/></r:activities><free xsi:type="r:thing"/></dm:person>
</p:presence>`
	doc, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	tuple, person := string(doc.Elements[0].XML), string(doc.Elements[1].XML)
	for _, want := range []string{`xmlns:p="urn:ietf:params:xml:ns:pidf"`, `xmlns:r="urn:ietf:params:xml:ns:pidf:rpid"`, `xml:lang="de"`} {
		if !strings.Contains(tuple, want) {
			t.Errorf("tuple %s lacks %s", tuple, want)
		}
	}
	for _, want := range []string{`xmlns:dm=`, `xmlns:r=`, `xmlns:xsi=`, `xmlns=""`} {
		if !strings.Contains(person, want) {
			t.Errorf("person %s lacks %s", person, want)
		}
	}
	for _, e := range doc.Elements {
		if strings.Contains(string(e.XML), "unused") || strings.Contains(string(e.XML), `xmlns=""`) && e.Kind == KindTuple {
			t.Errorf("%s declares what it does not use: %s", e.Kind, e.XML)
		}
		tree, err := e.Tree()
		if err != nil {
			t.Fatal(err)
		}
		if tree.NamespaceURI() != e.Space {
			t.Errorf("tree of %s in %q, want %q", e.Kind, tree.NamespaceURI(), e.Space)
		}
	}
	if free := mustTree(t, doc.Elements[1]).FindElement("free"); free == nil || free.NamespaceURI() != "" {
		t.Errorf("unqualified <free> must stay in no namespace: %s", doc.Elements[1].XML)
	}
}
