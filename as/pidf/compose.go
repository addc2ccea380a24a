package pidf

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

// AnonymousEntity is the entity Render writes when it is given none (the anonymous URI of RFC 3323).
const AnonymousEntity = "sip:anonymous@anonymous.invalid"

// Compose builds one application/pidf+xml document for entity from the hard state
// (RFC 4827 pidf-manipulation, nil when there is none) and the live soft-state
// publications, by the rules in README.md (Select, then Render). The result always
// parses with Parse. soft is not modified.
func Compose(entity string, hard *Document, soft []Source) []byte {
	return Render(entity, Select(hard, soft))
}

// Select applies the composition rules (README.md, "Composition") and returns the
// elements of the composed document in output order:
//
//   - contributors are ranked: the hard-state document first, then the publications
//     by Published, then by ID; a later contributor overrides an earlier one;
//   - tuples, persons and devices share one id space (xs:ID): for each id the element of
//     the latest contributor that has it wins, whatever its kind;
//   - persons come only from the latest contributor that has a person, presence-level
//     notes only from the latest contributor that has a note;
//   - other extension elements are kept from every contributor, exact duplicates once;
//   - output order: tuples, then notes, then the rest (the RFC 3863 schema order),
//     each by contributor rank and then document order.
//
// Policy code may filter the result before handing it to Render.
func Select(hard *Document, soft []Source) []Element {
	docs := contributors(hard, soft)
	lastPerson, lastNote := -1, -1
	n := 0
	for i, d := range docs {
		for _, e := range d.Elements {
			switch e.Kind {
			case KindPerson:
				lastPerson = i
			case KindNote:
				lastNote = i
			}
		}
		n += len(d.Elements)
	}
	if n == 0 {
		return nil
	}
	// Walk from the latest contributor back so the first element seen for an id wins.
	type pick struct{ doc, idx int }
	picked := make([]pick, 0, n)
	var seen idSet
	for i := len(docs) - 1; i >= 0; i-- {
		els := docs[i].Elements
		for j := len(els) - 1; j >= 0; j-- {
			e := &els[j]
			switch e.Kind {
			case KindPerson:
				if i != lastPerson {
					continue
				}
			case KindNote:
				if i != lastNote {
					continue
				}
			case KindExtension:
				if seen.addBytes(e.XML) {
					continue
				}
			}
			if e.ID != "" && seen.add(e.ID) {
				continue
			}
			picked = append(picked, pick{i, j})
		}
	}
	slices.Reverse(picked)
	out := make([]Element, 0, len(picked))
	for _, pass := range [...]func(Kind) bool{
		func(k Kind) bool { return k == KindTuple },
		func(k Kind) bool { return k == KindNote },
		func(k Kind) bool { return k != KindTuple && k != KindNote },
	} {
		for _, p := range picked {
			if e := docs[p.doc].Elements[p.idx]; pass(e.Kind) {
				out = append(out, e)
			}
		}
	}
	return out
}

// contributors returns the documents in rank order: hard state, then the publications
// sorted by Published and ID; nil documents are skipped.
func contributors(hard *Document, soft []Source) []*Document {
	docs := make([]*Document, 0, len(soft)+1)
	if hard != nil {
		docs = append(docs, hard)
	}
	sorted := slices.IsSortedFunc(soft, compareSources)
	if !sorted {
		soft = slices.Clone(soft)
		slices.SortStableFunc(soft, compareSources)
	}
	for _, s := range soft {
		if s.Doc != nil {
			docs = append(docs, s.Doc)
		}
	}
	return docs
}

func compareSources(a, b Source) int {
	if c := a.Published.Compare(b.Published); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// idSet is a small set of strings: a slice while small, a map when it grows.
type idSet struct {
	list []string
	m    map[string]struct{}
}

// add inserts s and reports whether it was already present.
func (s *idSet) add(v string) bool {
	if s.m != nil {
		if _, ok := s.m[v]; ok {
			return true
		}
		s.m[v] = struct{}{}
		return false
	}
	if slices.Contains(s.list, v) {
		return true
	}
	s.list = append(s.list, v)
	if len(s.list) > 32 {
		s.m = make(map[string]struct{}, 2*len(s.list))
		for _, x := range s.list {
			s.m[x] = struct{}{}
		}
	}
	return false
}

// addBytes is add for an extension's serialization, kept apart from ids by a prefix
// byte no id contains.
func (s *idSet) addBytes(b []byte) bool { return s.add("<" + string(b)) }

const (
	header     = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<presence xmlns="` + NS + `" entity="`
	emptyClose = `"/>` + "\n"
	openClose  = `">` + "\n"
	footer     = `</presence>` + "\n"
)

// Render writes a PIDF document for entity holding elems: tuples first, then notes, then
// the rest, each group in the given order. Element.XML is copied as is; the root declares
// only the PIDF default namespace. An empty entity is written as AnonymousEntity.
func Render(entity string, elems []Element) []byte {
	ent := sanitize(entity)
	if strings.TrimSpace(ent) == "" {
		ent = AnonymousEntity
	}
	ent = escapeAttr(ent)
	size := len(header) + len(ent) + len(openClose) + len(footer)
	for _, e := range elems {
		size += len(e.XML) + 1
	}
	out := make([]byte, 0, size)
	out = append(out, header...)
	out = append(out, ent...)
	if len(elems) == 0 {
		return append(out, emptyClose...)
	}
	out = append(out, openClose...)
	for _, group := range [...]func(Kind) bool{
		func(k Kind) bool { return k == KindTuple },
		func(k Kind) bool { return k == KindNote },
		func(k Kind) bool { return k != KindTuple && k != KindNote },
	} {
		for _, e := range elems {
			if group(e.Kind) {
				out = append(out, e.XML...)
				out = append(out, '\n')
			}
		}
	}
	return append(out, footer...)
}

// sanitize drops what XML 1.0 cannot carry (invalid UTF-8, most control characters).
func sanitize(s string) string {
	ok := utf8.ValidString(s)
	for i := 0; ok && i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			ok = false
		}
	}
	if ok && !strings.ContainsAny(s, "\uFFFE\uFFFF") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

// escapeAttr escapes s for a double-quoted attribute value, keeping whitespace exact.
func escapeAttr(s string) string {
	if !strings.ContainsAny(s, "&<>\"\t\n\r") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\t':
			b.WriteString("&#x9;")
		case '\n':
			b.WriteString("&#xA;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
