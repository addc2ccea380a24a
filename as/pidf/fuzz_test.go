package pidf

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func seedCorpus(f *testing.F) [][]byte {
	f.Helper()
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil {
		f.Fatal(err)
	}
	var seeds [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return append(seeds,
		[]byte(tuples("sip:a@example.com", "a1", "a2")),
		[]byte(person("p1", "away")),
		[]byte(`<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" xmlns="urn:x" xmlns:r="urn:y" entity="e"><p:tuple id="t"><p:status/><r:a q="r:b">x</r:a><u/></p:tuple><r:z/></p:presence>`),
		[]byte(`<!DOCTYPE x><presence/>`),
		[]byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple><status/></tuple></presence>`),
	)
}

// FuzzParse checks that Parse never panics, fails only with *ParseError, and that an
// accepted document composes into a document that parses with the same elements.
func FuzzParse(f *testing.F) {
	for _, s := range seedCorpus(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := Parse(body)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Reason == "" {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		out := Compose(doc.Entity, nil, []Source{{ID: "e", Doc: doc}})
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("composed document does not parse: %v\n%s\nfrom\n%s", err, out, body)
		}
		if again.Entity != doc.Entity {
			t.Fatalf("entity %q, want %q", again.Entity, doc.Entity)
		}
		want := Select(nil, []Source{{ID: "e", Doc: doc}})
		if len(again.Elements) != len(want) {
			t.Fatalf("%d elements, want %d\n%s", len(again.Elements), len(want), out)
		}
		for i, e := range again.Elements {
			if e.Kind != want[i].Kind || e.ID != want[i].ID || e.Space != want[i].Space || e.Local != want[i].Local {
				t.Fatalf("element %d: %+v, want %+v", i, e, want[i])
			}
		}
		if twice := Compose(again.Entity, nil, []Source{{ID: "e", Doc: again}}); string(twice) != string(out) {
			t.Fatalf("not a fixed point:\n%s\n%s", out, twice)
		}
	})
}

// FuzzCompose composes two fuzzed documents as hard and soft state under a fuzzed
// entity; the output must always parse (RFC 3903 §2: the compositor emits one valid document).
func FuzzCompose(f *testing.F) {
	seeds := seedCorpus(f)
	for i := range seeds {
		f.Add(seeds[i], seeds[(i+1)%len(seeds)], "sip:alice@example.com", int64(i))
	}
	f.Add([]byte(nil), []byte(nil), "", int64(0))
	f.Fuzz(func(t *testing.T, a, b []byte, entity string, skew int64) {
		da, _ := Parse(a)
		db, _ := Parse(b)
		soft := []Source{{ID: "b", Doc: db, Published: t0}, {ID: "a", Doc: da, Published: t0.Add(-1 << (skew & 31))}}
		for _, hard := range []*Document{nil, da, db} {
			out := Compose(entity, hard, soft)
			d, err := Parse(out)
			if err != nil {
				t.Fatalf("composed document does not parse: %v\n%s", err, out)
			}
			ids := map[string]bool{}
			for _, e := range d.Elements {
				if e.ID != "" && ids[e.ID] {
					t.Fatalf("duplicate id %q", e.ID)
				}
				ids[e.ID] = true
			}
		}
	})
}
