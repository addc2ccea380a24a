package pidf

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func mustParse(t testing.TB, body string) *Document {
	t.Helper()
	d, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, body)
	}
	return d
}

func mustTree(t testing.TB, e Element) *etree.Element {
	t.Helper()
	tree, err := e.Tree()
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// tuples returns a PIDF document with one open tuple per id.
func tuples(entity string, ids ...string) string {
	var b strings.Builder
	b.WriteString(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="` + entity + `">`)
	for _, id := range ids {
		b.WriteString(`<tuple id="` + id + `"><status><basic>open</basic></status><contact>sip:` + id + `@example.com</contact></tuple>`)
	}
	b.WriteString(`</presence>`)
	return b.String()
}

func person(id, activity string) string {
	return `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
 xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example.com">
 <dm:person id="` + id + `"><rpid:activities><rpid:` + activity + `/></rpid:activities></dm:person></presence>`
}

var t0 = time.Date(2026, 11, 21, 7, 0, 0, 0, time.UTC)

func src(id string, sec int, doc *Document) Source {
	return Source{ID: id, Doc: doc, Published: t0.Add(time.Duration(sec) * time.Second)}
}

// summary lists the composed document's children as "kind:id" or "kind:{ns}local",
// after checking that the document parses again.
func summary(t *testing.T, out []byte) []string {
	t.Helper()
	d, err := Parse(out)
	if err != nil {
		t.Fatalf("composed document does not parse: %v\n%s", err, out)
	}
	var s []string
	for _, e := range d.Elements {
		tree := mustTree(t, e)
		switch {
		case e.ID != "":
			label := e.Kind.String() + ":" + e.ID
			if c := tree.FindElement("contact"); c != nil {
				label += "=" + c.Text()
			}
			for _, a := range tree.FindElements(".//*") {
				if a.NamespaceURI() == NSRPID && a.Parent().Tag == "activities" {
					label += "=" + a.Tag
				}
			}
			s = append(s, label)
		default:
			s = append(s, e.Kind.String()+":{"+e.Space+"}"+e.Local+"="+strings.TrimSpace(tree.Text()))
		}
	}
	return s
}

func TestCompose(t *testing.T) {
	ent := "sip:alice@example.com"
	a := mustParse(t, tuples(ent, "a1", "a2"))
	b := mustParse(t, tuples(ent, "b1"))
	bSameID := mustParse(t, strings.ReplaceAll(tuples(ent, "a1"), "sip:a1@", "sip:newer@"))
	hard := mustParse(t, strings.ReplaceAll(tuples(ent, "a1", "h1"), "sip:", "sip:hard-"))
	pOld, pNew := mustParse(t, person("p1", "away")), mustParse(t, person("p2", "busy"))
	notes := func(text string) *Document {
		return mustParse(t, `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><note>`+text+`</note></presence>`)
	}
	ext := mustParse(t, `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:z="urn:example:z" entity="x"><z:mood>fine</z:mood><tuple id="z1"><status/></tuple></presence>`)
	personAsTuple := mustParse(t, `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="x"><dm:device id="a1"><dm:deviceID>urn:d</dm:deviceID></dm:device></presence>`)

	tests := []struct {
		name string
		hard *Document
		soft []Source
		want []string
	}{
		{"RFC 3903 §2: no state gives a presence without tuples", nil, nil, nil},
		{"RFC 3903 §2: one publication", nil, []Source{src("e1", 0, a)}, []string{"tuple:a1=sip:a1@example.com", "tuple:a2=sip:a2@example.com"}},
		{"RFC 3903 §2: tuples of two publishers kept apart, ordered by Published",
			nil, []Source{src("e2", 5, b), src("e1", 0, a)},
			[]string{"tuple:a1=sip:a1@example.com", "tuple:a2=sip:a2@example.com", "tuple:b1=sip:b1@example.com"}},
		{"RFC 3903 §2: equal Published ordered by publication id",
			nil, []Source{src("zz", 0, a), src("aa", 0, b)},
			[]string{"tuple:b1=sip:b1@example.com", "tuple:a1=sip:a1@example.com", "tuple:a2=sip:a2@example.com"}},
		{"RFC 4479: same tuple id from two publishers, the most recent wins",
			nil, []Source{src("e1", 0, a), src("e2", 9, bSameID)},
			[]string{"tuple:a2=sip:a2@example.com", "tuple:a1=sip:newer@example.com"}},
		{"RFC 4479: the older publication with the same id loses even when listed last",
			nil, []Source{src("e2", 9, bSameID), src("e1", 0, a)},
			[]string{"tuple:a2=sip:a2@example.com", "tuple:a1=sip:newer@example.com"}},
		{"RFC 4827 §3: hard state alone", hard, nil,
			[]string{"tuple:a1=sip:hard-a1@example.com", "tuple:h1=sip:hard-h1@example.com"}},
		{"RFC 4827 §3: soft state overrides hard state for the same id",
			hard, []Source{src("e1", 0, a)},
			[]string{"tuple:h1=sip:hard-h1@example.com", "tuple:a1=sip:a1@example.com", "tuple:a2=sip:a2@example.com"}},
		{"RFC 4479: the most recent person wins", nil,
			[]Source{src("e1", 0, pNew), src("e0", -5, pOld), src("e2", 1, a)},
			[]string{"tuple:a1=sip:a1@example.com", "tuple:a2=sip:a2@example.com", "person:p2=busy"}},
		{"RFC 4827 §3: a soft person replaces the hard person", pOld, []Source{src("e1", 0, pNew)}, []string{"person:p2=busy"}},
		{"RFC 4827 §3: the hard person stays without a soft one", pOld, []Source{src("e1", 0, a)},
			[]string{"tuple:a1=sip:a1@example.com", "tuple:a2=sip:a2@example.com", "person:p1=away"}},
		{"RFC 3863 §4.1.7: presence notes of the most recent publisher with notes",
			notes("old"), []Source{src("e1", 0, notes("new")), src("e2", 1, a)},
			[]string{"tuple:a1=sip:a1@example.com", "tuple:a2=sip:a2@example.com", "note:{" + NS + "}note=new"}},
		{"RFC 3863 extensibility: unknown extensions pass through, exact duplicates once",
			nil, []Source{src("e1", 0, ext), src("e2", 1, ext), src("e3", 2, a)},
			[]string{"tuple:z1", "tuple:a1=sip:a1@example.com", "tuple:a2=sip:a2@example.com", "extension:{urn:example:z}mood=fine"}},
		{"RFC 4479: one id space across kinds, the most recent wins",
			nil, []Source{src("e1", 0, a), src("e2", 1, personAsTuple)},
			[]string{"tuple:a2=sip:a2@example.com", "device:a1"}},
		{"RFC 3903 §2: a source without a document is skipped", nil, []Source{{ID: "x"}, src("e1", 0, b)}, []string{"tuple:b1=sip:b1@example.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.soft)
			out := Compose(ent, tc.hard, tc.soft)
			if !slices.Equal(before, tc.soft) {
				t.Error("Compose reordered its argument")
			}
			if got := summary(t, out); !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q\n%s", got, tc.want, out)
			}
			d, _ := Parse(out)
			if d.Entity != ent {
				t.Errorf("entity %q", d.Entity)
			}
			if again := Compose(ent, tc.hard, tc.soft); !bytes.Equal(again, out) {
				t.Error("Compose is not deterministic")
			}
		})
	}
}

// TestComposeREADME is the example of README.md, "Examples".
func TestComposeREADME(t *testing.T) {
	hard := mustParse(t, `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:alice@example.com">
<tuple id="h1"><status/></tuple><dm:person id="p0"><dm:note>at work</dm:note></dm:person></presence>`)
	a := mustParse(t, `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">
<tuple id="a1"><status><basic>open</basic></status></tuple><tuple id="a2"><status/></tuple></presence>`)
	b := mustParse(t, `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
 xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example.com">
<tuple id="a1"><status><basic>closed</basic></status></tuple>
<dm:person id="p1"><rpid:activities><rpid:on-the-phone/></rpid:activities></dm:person></presence>`)
	ten := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	elems := Select(hard, []Source{{ID: "B", Doc: b, Published: ten.Add(5 * time.Minute)}, {ID: "A", Doc: a, Published: ten}})
	var got []string
	for _, e := range elems {
		got = append(got, e.ID)
	}
	if want := []string{"h1", "a2", "a1", "p1"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !strings.Contains(string(elems[2].XML), "closed") {
		t.Errorf("a1 must come from B: %s", elems[2].XML)
	}
	// a policy filter between Select and Render
	filtered := slices.DeleteFunc(slices.Clone(elems), func(e Element) bool { return e.Kind == KindPerson })
	if got := summary(t, Render("sip:alice@example.com", filtered)); len(got) != 3 {
		t.Errorf("filtered: %q", got)
	}
}

// TestComposeHardState composes the RFC 4827 §11-style pidf-manipulation document with a
// PUBLISH: the hard tuples stay, the soft person replaces the vacation person, and a soft
// tuple with a hard tuple's id replaces it (RFC 4827 §3 leaves this to compositor policy).
func TestComposeHardState(t *testing.T) {
	body, err := os.ReadFile("testdata/rfc4827-hard.xml")
	if err != nil {
		t.Fatal(err)
	}
	hard := mustParse(t, string(body))
	soft := mustParse(t, `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
 xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:someone@example.com">
<tuple id="phone"><status><basic>open</basic></status><contact>sip:someone@192.0.2.1</contact></tuple>
<tuple id="x8eg92n"><status><basic>open</basic></status><contact>sip:someone@example.com</contact></tuple>
<dm:person id="p2"><rpid:activities><rpid:on-the-phone/></rpid:activities></dm:person></presence>`)
	tests := []struct {
		name string
		soft []Source
		want []string
	}{
		{"RFC 4827 §3: hard state alone is the presence document", nil,
			[]string{"tuple:x8eg92m=mailto:someone@example.com", "tuple:x8eg92n=sip:someone@example.com", "person:p1=vacation"}},
		{"RFC 4827 §3: soft state composes over hard state", []Source{src("e1", 0, soft)},
			[]string{"tuple:x8eg92m=mailto:someone@example.com", "tuple:phone=sip:someone@192.0.2.1", "tuple:x8eg92n=sip:someone@example.com", "person:p2=on-the-phone"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := Compose("sip:someone@example.com", hard, tc.soft)
			if got := summary(t, out); !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q\n%s", got, tc.want, out)
			}
			if len(tc.soft) > 0 && !strings.Contains(string(out), "<basic>open</basic></status><contact>sip:someone@example.com") {
				t.Errorf("x8eg92n must be the soft (open) tuple:\n%s", out)
			}
		})
	}
}

func TestComposeEmpty(t *testing.T) {
	tests := []struct{ name, entity, want string }{
		{"RFC 3863 §4.1.2: neutral document", "sip:alice@example.com",
			`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>` + "\n"},
		{"XML 1.0 §3.3.3: entity escaped", `sip:"a"&<b>@x`,
			`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:&quot;a&quot;&amp;&lt;b&gt;@x"/>` + "\n"},
		{"RFC 3863 §4.1.2: empty entity becomes the anonymous URI", "\x01",
			`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:anonymous@anonymous.invalid"/>` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := Compose(tc.entity, nil, nil)
			if string(out) != tc.want {
				t.Fatalf("got %s", out)
			}
			if _, err := Parse(out); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestComposePrefixCollision lifts elements from documents that bind the same prefixes
// to different namespaces, and the PIDF namespace to a prefix instead of the default.
func TestComposePrefixCollision(t *testing.T) {
	a := mustParse(t, `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid"
  xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:alice@example.com">
  <tuple id="ta"><status><basic>open</basic></status><r:class>a</r:class></tuple>
  <dm:person id="pa"><r:activities><r:busy/></r:activities></dm:person>
</presence>`)
	b := mustParse(t, `<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" xmlns:r="urn:example:other" xmlns="urn:example:default"
  xmlns:dm="urn:example:not-data-model" entity="sip:alice@example.com">
  <p:tuple id="tb"><p:status><p:basic>closed</p:basic><r:class>b</r:class></p:status><plain>d</plain></p:tuple>
  <r:class>top</r:class>
  <dm:person id="x">not a data-model person</dm:person>
</p:presence>`)
	c := mustParse(t, `<dm:presence xmlns:dm="urn:ietf:params:xml:ns:pidf" xmlns:p="urn:ietf:params:xml:ns:pidf:data-model" entity="x">
  <dm:tuple id="tc"><dm:status/></dm:tuple><p:device id="dc"><p:deviceID>urn:c</p:deviceID></p:device></dm:presence>`)
	out := Compose("sip:alice@example.com", nil, []Source{src("a", 0, a), src("b", 1, b), src("c", 2, c)})
	d, err := Parse(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(out); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{} // text or id -> {ns}local of every element with a marker
	for _, e := range doc.FindElements("//*") {
		key := strings.TrimSpace(e.Text())
		if id := e.SelectAttrValue("id", ""); id != "" {
			key = id
		}
		if key != "" {
			got[key] = "{" + e.NamespaceURI() + "}" + e.Tag
		}
		if e.Tag == "busy" {
			got["busy"] = "{" + e.NamespaceURI() + "}" + e.Tag
		}
	}
	want := map[string]string{
		"ta": "{" + NS + "}tuple", "a": "{" + NSRPID + "}class", "pa": "{" + NSDataModel + "}person", "busy": "{" + NSRPID + "}busy",
		"tb": "{" + NS + "}tuple", "b": "{urn:example:other}class", "d": "{urn:example:default}plain", "closed": "{" + NS + "}basic",
		"top": "{urn:example:other}class", "x": "{urn:example:not-data-model}person",
		"tc": "{" + NS + "}tuple", "dc": "{" + NSDataModel + "}device", "urn:c": "{" + NSDataModel + "}deviceID",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %s, want %s", k, got[k], v)
		}
	}
	var kinds []string
	for _, e := range d.Elements {
		kinds = append(kinds, e.Kind.String()+":"+e.ID)
	}
	if w := []string{"tuple:ta", "tuple:tb", "tuple:tc", "person:pa", "extension:", "extension:", "device:dc"}; !slices.Equal(kinds, w) {
		t.Errorf("elements %q, want %q\n%s", kinds, w, out)
	}
}

// TestGolden composes each RFC example in testdata/ as the only publication and
// compares with testdata/<name>.golden (go test -run Golden -update rewrites them).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".xml")
		t.Run("RFC examples: "+name, func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			doc := mustParse(t, string(body))
			out := Compose(doc.Entity, nil, []Source{src("e1", 0, doc)})
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("got\n%s\nwant\n%s", out, want)
			}
			again := mustParse(t, string(out))
			if len(again.Elements) != len(doc.Elements) {
				t.Errorf("re-parse has %d elements, want %d", len(again.Elements), len(doc.Elements))
			}
			// a composed document composes to itself
			if twice := Compose(again.Entity, nil, []Source{src("e1", 0, again)}); !bytes.Equal(twice, out) {
				t.Errorf("not a fixed point:\n%s", twice)
			}
		})
	}
}

// TestComposeConcurrent composes shared documents from many goroutines (run with -race):
// a parsed Document is read-only.
func TestComposeConcurrent(t *testing.T) {
	a := mustParse(t, tuples("sip:a@example.com", "a1", "a2"))
	p := mustParse(t, person("p1", "away"))
	soft := []Source{src("e2", 1, p), src("e1", 0, a)}
	want := Compose("sip:a@example.com", a, soft)
	done := make(chan []byte)
	for range 8 {
		go func() {
			var out []byte
			for range 100 {
				out = Compose("sip:a@example.com", a, soft)
			}
			done <- out
		}()
	}
	for range 8 {
		if got := <-done; !bytes.Equal(got, want) {
			t.Fatalf("got %s", got)
		}
	}
}
