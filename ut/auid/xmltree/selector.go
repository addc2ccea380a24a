package xmltree

import (
	"strconv"
	"strings"
)

// Step returns the XCAP node-selector step (RFC 4825 §6.3) that selects e among its siblings:
// the name test (unprefixed when e is in defaultNS, the document's prefix otherwise, "*" when
// e has neither), then `[@name="v"]` (or `[@id=…]`, `[@uri=…]`) when that attribute singles e
// out, else `[n]` when several siblings pass the name test.
func (e *Element) Step(defaultNS string) string {
	test := e.NameTest(defaultNS)
	if e.Parent == nil {
		return test
	}
	same := func(c *Element) bool {
		if test == "*" {
			return true
		}
		return c.Space == e.Space && c.Local == e.Local
	}
	for _, key := range [...]string{"name", "id", "uri"} {
		v, ok := e.Attr(key)
		if !ok || (strings.Contains(v, `"`) && strings.Contains(v, `'`)) {
			continue
		}
		unique := true
		for _, c := range e.Parent.Children {
			if c != e && same(c) {
				if w, ok := c.Attr(key); ok && w == v {
					unique = false
					break
				}
			}
		}
		if unique {
			return test + "[@" + key + "=" + Quote(v) + "]"
		}
	}
	n, count := 0, 0
	for _, c := range e.Parent.Children {
		if same(c) {
			count++
			if c == e {
				n = count
			}
		}
	}
	if count > 1 {
		return test + "[" + strconv.Itoa(n) + "]"
	}
	return test
}

// NameTest is e's name as a node-selector name test.
func (e *Element) NameTest(defaultNS string) string {
	switch {
	case e.Space == defaultNS:
		return e.Local
	case e.Prefix != "":
		return e.Prefix + ":" + e.Local
	}
	return "*"
}

// Path returns the node selector of e relative to the document, e.g.
// `resource-lists/list[@name="friends"]/entry[2]`.
func (e *Element) Path(defaultNS string) string {
	var steps []string
	for n := e; n != nil; n = n.Parent {
		steps = append(steps, n.Step(defaultNS))
	}
	for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
		steps[i], steps[j] = steps[j], steps[i]
	}
	return strings.Join(steps, "/")
}

// Quote quotes v as an XML AttValue for a node-selector predicate: double quotes unless v
// contains one.
func Quote(v string) string {
	if strings.Contains(v, `"`) {
		return "'" + v + "'"
	}
	return `"` + v + `"`
}
