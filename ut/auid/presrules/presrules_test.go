package presrules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imsps/imsps/ut"
)

func newUsage(t testing.TB, auid string) *Usage {
	t.Helper()
	u, err := New(t.Context(), auid)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func candidate(auid, body string) ut.Candidate {
	return ut.Candidate{Key: ut.DocumentKey{AUID: auid, XUI: "sip:alice@example.com", Name: "index"}, Body: []byte(body)}
}

// rule wraps rule content in a ruleset with the usual prefixes.
func rules(s string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">` + s + `</cr:ruleset>`
}

func transform(s string) string {
	return rules(`<cr:rule id="r"><cr:transformations>` + s + `</cr:transformations></cr:rule>`)
}

func TestRegistration(t *testing.T) {
	for _, auid := range []string{"pres-rules", "org.openmobilealliance.pres-rules"} {
		u := newUsage(t, auid)
		if u.AUID() != auid || u.MediaType() != "application/auth-policy+xml" ||
			u.DefaultNamespace() != "urn:ietf:params:xml:ns:pres-rules" {
			t.Errorf("RFC 5025 §9.1-§9.4: got %s %s %s", u.AUID(), u.MediaType(), u.DefaultNamespace())
		}
	}
	if _, err := New(t.Context(), "rules"); err == nil {
		t.Error("New accepted an unknown AUID")
	}
}

func TestCheckGolden(t *testing.T) {
	u := newUsage(t, AUID)
	oma := newUsage(t, OMAAUID)
	for _, tc := range []struct {
		file    string
		usage   *Usage
		wantTag string
	}{
		{"rfc5025-example.xml", u, ""},
		{"rfc4745-full.xml", u, ""},
		{"a8.3-1-put.xml", u, ""},
		{"a8.3-4-after-put.xml", u, ""},
		{"a8.3-8-get.xml", u, ""},
		{"oma-pres-rules.xml", oma, ""},
		{"a8.3-1-put.xml", oma, ""},
		{"a8.3-1-draft.xml", u, "schema-validation-error"},
	} {
		t.Run("RFC 5025 §3 and TS 24.141 A.8.3: "+tc.usage.AUID()+" "+tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			assertTag(t, tc.usage.Check(t.Context(), candidate(tc.usage.AUID(), string(body))), tc.wantTag)
		})
	}
}

func TestCheck(t *testing.T) {
	u := newUsage(t, AUID)
	for _, tc := range []struct {
		name, body, wantTag, wantPhrase string
	}{
		{name: "RFC 4745 §7: empty ruleset", body: rules(``)},
		{name: "RFC 4745 §7: rule without id", body: rules(`<cr:rule/>`), wantTag: "schema-validation-error", wantPhrase: "id"},
		{name: "RFC 4745 §7: rule ids unique", body: rules(`<cr:rule id="a"/><cr:rule id="a"/>`), wantTag: "schema-validation-error", wantPhrase: "duplicate ID"},
		{name: "RFC 4745 §7: rule id is an XML ID", body: rules(`<cr:rule id="1 2"/>`), wantTag: "schema-validation-error"},
		{name: "RFC 4745 §7: conditions, actions, transformations in order", body: rules(`<cr:rule id="a"><cr:actions/><cr:conditions/></cr:rule>`), wantTag: "schema-validation-error"},
		{name: "RFC 4745 §7.1.1: one needs an id", body: rules(`<cr:rule id="a"><cr:conditions><cr:identity><cr:one/></cr:identity></cr:conditions></cr:rule>`), wantTag: "schema-validation-error"},
		{name: "RFC 4745 §7.1.1: identity is not empty", body: rules(`<cr:rule id="a"><cr:conditions><cr:identity/></cr:conditions></cr:rule>`), wantTag: "schema-validation-error"},
		{name: "RFC 4745 §7.3: validity pairs from and until", body: rules(`<cr:rule id="a"><cr:conditions><cr:validity><cr:from>2026-01-01T00:00:00Z</cr:from></cr:validity></cr:conditions></cr:rule>`), wantTag: "schema-validation-error"},
		{name: "RFC 4745 §7.3: validity times are dateTime", body: rules(`<cr:rule id="a"><cr:conditions><cr:validity><cr:from>monday</cr:from><cr:until>2026-01-01T00:00:00Z</cr:until></cr:validity></cr:conditions></cr:rule>`), wantTag: "schema-validation-error"},
		{name: "RFC 4745 §7: unknown common-policy element", body: rules(`<cr:rule id="a"><cr:permissions/></cr:rule>`), wantTag: "schema-validation-error"},
		{name: "RFC 4745 §7.1: foreign conditions are extensions", body: rules(`<cr:rule id="a"><cr:conditions><x:weather xmlns:x="urn:example:x">sunny</x:weather></cr:conditions></cr:rule>`)},
		{name: "RFC 5025 §3.2.1: sub-handling values", body: rules(`<cr:rule id="a"><cr:actions><pr:sub-handling>polite-block</pr:sub-handling></cr:actions></cr:rule>`)},
		{name: "RFC 5025 §3.2.1: unknown sub-handling value", body: rules(`<cr:rule id="a"><cr:actions><pr:sub-handling>deny</pr:sub-handling></cr:actions></cr:rule>`), wantTag: "schema-validation-error", wantPhrase: "sub-handling"},
		{name: "RFC 5025 §3.3.1: all-services excludes a service list", body: transform(`<pr:provide-services><pr:all-services/><pr:service-uri>sip:a@b</pr:service-uri></pr:provide-services>`), wantTag: "schema-validation-error"},
		{name: "RFC 5025 §3.3.1: services by uri, scheme, occurrence and class", body: transform(`<pr:provide-services><pr:service-uri>sip:a@b</pr:service-uri><pr:service-uri-scheme>mailto</pr:service-uri-scheme><pr:occurrence-id>x1</pr:occurrence-id><pr:class>work</pr:class></pr:provide-services>`)},
		{name: "RFC 5025 §3.3.1: persons cannot be selected by deviceID", body: transform(`<pr:provide-persons><pr:deviceID>urn:x</pr:deviceID></pr:provide-persons>`), wantTag: "schema-validation-error"},
		{name: "RFC 5025 §3.3.2: boolean permissions", body: transform(`<pr:provide-mood>false</pr:provide-mood><pr:provide-place-is>1</pr:provide-place-is><pr:provide-note>true</pr:provide-note>`)},
		{name: "RFC 5025 §3.3.2: boolean permission is a boolean", body: transform(`<pr:provide-mood>maybe</pr:provide-mood>`), wantTag: "schema-validation-error"},
		{name: "RFC 5025 §3.3.2: provide-user-input levels", body: transform(`<pr:provide-user-input>everything</pr:provide-user-input>`), wantTag: "schema-validation-error"},
		{name: "RFC 5025 §3.3.3: unknown attribute needs ns and name", body: transform(`<pr:provide-unknown-attribute name="foo">true</pr:provide-unknown-attribute>`), wantTag: "schema-validation-error"},
		{name: "RFC 5025 §3.3.4: provide-all-attributes is empty", body: transform(`<pr:provide-all-attributes>yes</pr:provide-all-attributes>`), wantTag: "schema-validation-error"},
		{name: "RFC 5025 §3.3: unknown pres-rules element", body: transform(`<pr:provide-everything/>`), wantTag: "schema-validation-error"},
		{name: "RFC 5025 §9.3: document element is cr:ruleset", body: `<pr:sub-handling xmlns:pr="urn:ietf:params:xml:ns:pres-rules">allow</pr:sub-handling>`, wantTag: "schema-validation-error", wantPhrase: "document element"},
		{name: "RFC 4825 §11: not well-formed", body: rules(`<cr:rule id="a">`), wantTag: "not-well-formed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := u.Check(t.Context(), candidate(AUID, tc.body))
			assertTag(t, err, tc.wantTag)
			if tc.wantPhrase != "" && !strings.Contains(err.Error(), tc.wantPhrase) {
				t.Errorf("phrase %q lacks %q", err, tc.wantPhrase)
			}
		})
	}
}

func assertTag(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("Check = %v, want nil", err)
		}
		return
	}
	var c *ut.Conflict
	if !errors.As(err, &c) || c.Tag != want {
		t.Fatalf("Check = %v, want *ut.Conflict %s", err, want)
	}
}

func FuzzCheck(f *testing.F) {
	for _, name := range []string{"rfc5025-example.xml", "rfc4745-full.xml", "a8.3-1-put.xml", "oma-pres-rules.xml", "a8.3-1-draft.xml"} {
		body, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Add([]byte(rules(`<cr:rule id="a"/><cr:rule id="a"/>`)))
	u := newUsage(f, AUID)
	f.Fuzz(func(t *testing.T, body []byte) {
		err := u.Check(t.Context(), candidate(AUID, string(body)))
		var c *ut.Conflict
		if err != nil && !errors.As(err, &c) {
			t.Fatalf("Check = %v: every refusal must be an RFC 4825 §11 conflict", err)
		}
	})
}

func BenchmarkCheckA83(b *testing.B) {
	u := newUsage(b, AUID)
	body, err := os.ReadFile(filepath.Join("testdata", "a8.3-4-after-put.xml"))
	if err != nil {
		b.Fatal(err)
	}
	c := candidate(AUID, string(body))
	for b.Loop() {
		if err := u.Check(b.Context(), c); err != nil {
			b.Fatal(err)
		}
	}
}
