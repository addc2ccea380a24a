package schema

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/imsps/imsps/ut"
)

var rlRoot = xml.Name{Space: "urn:ietf:params:xml:ns:resource-lists", Local: "resource-lists"}

func TestLibraryCompiles(t *testing.T) {
	for _, tc := range []struct {
		root  xml.Name
		files []string
	}{
		{rlRoot, []string{"resource-lists.xsd"}},
		{xml.Name{Space: "urn:ietf:params:xml:ns:rls-services", Local: "rls-services"}, []string{"rls-services.xsd"}},
		{xml.Name{Space: "urn:ietf:params:xml:ns:common-policy", Local: "ruleset"}, []string{"common-policy.xsd", "pres-rules.xsd"}},
		{xml.Name{Space: "urn:ietf:params:xml:ns:pidf", Local: "presence"}, []string{"pidf.xsd"}},
		{xml.Name{Space: "urn:ietf:params:xml:ns:xcap-caps", Local: "xcap-caps"}, []string{"xcap-caps.xsd"}},
		{xml.Name{Space: "urn:oma:xml:xdm:xcap-directory", Local: "xcap-directory"}, []string{"xcap-directory.xsd"}},
	} {
		t.Run("RFC 4825 §5.4: "+strings.Join(tc.files, "+"), func(t *testing.T) {
			if _, err := Compile(t.Context(), tc.root, nil, tc.files...); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestNoRemoteSchemas: every import names a shipped file; nothing is fetched.
func TestNoRemoteSchemas(t *testing.T) {
	loc := regexp.MustCompile(`schemaLocation="([^"]*)"`)
	err := fs.WalkDir(Library(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Library(), p)
		if err != nil {
			return err
		}
		for _, m := range loc.FindAllSubmatch(b, -1) {
			if _, err := fs.Stat(Library(), string(m[1])); err != nil || strings.Contains(string(m[1]), ":") {
				t.Errorf("%s imports %s, which is not a shipped local schema", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestValidateConflicts(t *testing.T) {
	v, err := Compile(t.Context(), rlRoot, nil, "resource-lists.xsd")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, body, tag, phrase string
	}{
		{"RFC 4825 §11: empty body is not well-formed", "  \n", TagNotWellFormed, "empty"},
		{"RFC 4825 §11: unclosed element is not well-formed", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>`, TagNotWellFormed, "/resource-lists/list"},
		{"RFC 4825 §11: mismatched tags are not well-formed", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list></entry></resource-lists>`, TagNotWellFormed, ""},
		{"RFC 4825 §11: Latin-1 document is not-utf-8", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><list name=\"\xe9\"/></resource-lists>", TagNotUTF8, ""},
		{"RFC 4825 §11: invalid UTF-8 bytes are not-utf-8", "<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><list name=\"\xff\"/></resource-lists>", TagNotUTF8, ""},
		{"RFC 4825 §5.4: DTDs are refused", `<!DOCTYPE resource-lists [<!ENTITY x "y">]><resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`, TagSchema, ""},
		{"RFC 4825 §11.1: phrase names path and line", "<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\">\n<list>\n<entry/></list></resource-lists>", TagSchema, "/resource-lists/list/entry line 3: missing required attribute uri"},
		{"RFC 4825 §5.4: another usage's document element", `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"/>`, TagSchema, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Validate(t.Context(), []byte(tc.body))
			var c *ut.Conflict
			if !errors.As(err, &c) {
				t.Fatalf("Validate = %v, want *ut.Conflict", err)
			}
			if tc.tag != "" && c.Tag != tc.tag {
				t.Errorf("tag = %s (%s), want %s", c.Tag, c.Phrase, tc.tag)
			}
			if !strings.Contains(c.Phrase, tc.phrase) {
				t.Errorf("phrase = %q, want it to contain %q", c.Phrase, tc.phrase)
			}
		})
	}
}

func TestRootCheck(t *testing.T) {
	// pres-rules declares global elements; only the usage's document element is a document.
	v, err := Compile(t.Context(), xml.Name{Space: "urn:ietf:params:xml:ns:common-policy", Local: "ruleset"}, nil, "common-policy.xsd", "pres-rules.xsd")
	if err != nil {
		t.Fatal(err)
	}
	err = v.Validate(t.Context(), []byte(`<sub-handling xmlns="urn:ietf:params:xml:ns:pres-rules">allow</sub-handling>`))
	var c *ut.Conflict
	if !errors.As(err, &c) || c.Tag != TagSchema || !strings.Contains(c.Phrase, "document element") {
		t.Fatalf("RFC 5025 §9.3: Validate(<sub-handling>) = %v", err)
	}
}

func TestCancelled(t *testing.T) {
	v, err := Compile(t.Context(), rlRoot, nil, "resource-lists.xsd")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = v.Validate(ctx, []byte(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`))
	var c *ut.Conflict
	if err == nil || errors.As(err, &c) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Validate(cancelled) = %v, want context.Canceled (not a 409)", err)
	}
}

// TestUsageSchemas: an application usage outside imsps ships its own schema and imports
// the shipped ones by name.
func TestUsageSchemas(t *testing.T) {
	fsys := fstest.MapFS{"notes.xsd": {Data: []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:n="urn:example:notes" targetNamespace="urn:example:notes" elementFormDefault="qualified">
  <xs:import namespace="http://www.w3.org/XML/1998/namespace" schemaLocation="xml.xsd"/>
  <xs:element name="notes"><xs:complexType><xs:sequence><xs:element name="note" minOccurs="0" maxOccurs="unbounded"><xs:complexType><xs:simpleContent><xs:extension base="xs:string"><xs:attribute ref="xml:lang"/></xs:extension></xs:simpleContent></xs:complexType></xs:element></xs:sequence></xs:complexType></xs:element>
</xs:schema>`)}}
	v, err := Compile(t.Context(), xml.Name{Space: "urn:example:notes", Local: "notes"}, fsys, "notes.xsd")
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(t.Context(), []byte(`<notes xmlns="urn:example:notes"><note xml:lang="en">hi</note></notes>`)); err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(t.Context(), rlRoot, fsys, "missing.xsd"); err == nil {
		t.Error("Compile of a missing file succeeded")
	}
}

func FuzzValidate(f *testing.F) {
	f.Add([]byte(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"><entry uri="sip:a@b"/></list></resource-lists>`))
	f.Add([]byte(`<?xml version="1.0"?><!-- c --><resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`))
	f.Add([]byte("<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><list name=\"\xff\"/></resource-lists>"))
	v, err := Compile(f.Context(), rlRoot, nil, "resource-lists.xsd")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := v.Validate(t.Context(), body)
		var c *ut.Conflict
		if err != nil && !errors.As(err, &c) {
			t.Fatalf("Validate = %v: a document error must be an RFC 4825 §11 conflict", err)
		}
	})
}

func BenchmarkValidate20Entries(b *testing.B) {
	var s strings.Builder
	s.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">` + "\n  <list name=\"friends\">\n")
	for i := range 20 {
		fmt.Fprintf(&s, "    <entry uri=\"sip:user%d@example.com\">\n      <display-name>User %d</display-name>\n    </entry>\n", i, i)
	}
	s.WriteString("  </list>\n</resource-lists>\n")
	body := []byte(s.String())
	v, err := Compile(b.Context(), rlRoot, nil, "resource-lists.xsd")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := v.Validate(b.Context(), body); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentValidate: one Validator serves concurrent requests (pooled sessions).
func TestConcurrentValidate(t *testing.T) {
	v, err := Compile(t.Context(), rlRoot, nil, "resource-lists.xsd")
	if err != nil {
		t.Fatal(err)
	}
	good := []byte(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"><entry uri="sip:a@b"/></list></resource-lists>`)
	bad := []byte(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"><entry/></list></resource-lists>`)
	errs := make(chan error, 64)
	for i := range 64 {
		go func() {
			if i%2 == 0 {
				errs <- v.Validate(t.Context(), good)
				return
			}
			if err := v.Validate(t.Context(), bad); err == nil {
				errs <- errors.New("invalid document accepted")
				return
			}
			errs <- nil
		}()
	}
	for range 64 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
