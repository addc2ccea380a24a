package rlsservices

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/imsps/imsps/ut"
)

// docs is an in-memory ut.DocumentReader.
type docs map[ut.DocumentKey]string

func (d docs) Each(ctx context.Context, auid string, fn func(ut.DocumentKey, []byte) error) error {
	keys := make([]ut.DocumentKey, 0, len(d))
	for k := range d {
		if k.AUID == auid {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].XUI+"/"+keys[i].Name < keys[j].XUI+"/"+keys[j].Name })
	for _, k := range keys {
		if err := fn(k, []byte(d[k])); err != nil {
			return err
		}
	}
	return nil
}

func key(xui string) ut.DocumentKey { return ut.DocumentKey{AUID: AUID, XUI: xui, Name: "index"} }

func newUsage(t testing.TB) *Usage {
	t.Helper()
	u, err := New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func golden(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func services(s string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists">` + s + `</rls-services>`
}

func inline(uri string) string {
	return `<service uri="` + uri + `"><list><rl:entry uri="sip:x@example.com"/></list></service>`
}

func TestRegistration(t *testing.T) {
	u := newUsage(t)
	if u.AUID() != "rls-services" || u.MediaType() != "application/rls-services+xml" ||
		u.DefaultNamespace() != "urn:ietf:params:xml:ns:rls-services" {
		t.Errorf("RFC 4826 §4.4.1/§4.4.2/§4.4.4: got %s %s %s", u.AUID(), u.MediaType(), u.DefaultNamespace())
	}
	if _, ok := any(u).(ut.Generator); ok {
		t.Error("RFC 4826 §4.4: users' documents are written by clients; the usage must not be read-only")
	}
}

func TestCheck(t *testing.T) {
	u := newUsage(t)
	others := docs{
		key("sip:bob@example.com"):    services(inline("sip:bobs-friends@example.com")),
		key("sip:joe@example.com"):    golden(t, "rfc4826-4.3.xml"),
		{AUID: AUID, Name: IndexName}: services(inline("sip:stale@example.com")),
	}
	for _, tc := range []struct {
		name    string
		owner   string
		body    string
		wantTag string
		want    []ut.Exists
	}{
		{name: "RFC 4826 §4.3: example document", owner: "sip:joe@example.com", body: golden(t, "rfc4826-4.3.xml")},
		{name: "TS 24.141 A.8.2: the list URI as an RLS service", owner: "sip:alice@example.com", body: golden(t, "a8.2-rls-services.xml")},
		{name: "RFC 4826 §4.2: service without uri", owner: "sip:alice@example.com", body: services(`<service><list/></service>`), wantTag: "schema-validation-error"},
		{name: "RFC 4826 §4.2: service without list or resource-list", owner: "sip:alice@example.com", body: services(`<service uri="sip:a@x"><packages/></service>`), wantTag: "schema-validation-error"},
		{name: "RFC 4826 §4.2: both list and resource-list", owner: "sip:alice@example.com", body: services(`<service uri="sip:a@x"><list/><resource-list>http://x/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list</resource-list></service>`), wantTag: "schema-validation-error"},
		{name: "RFC 4826 §4.4.5: service URI unique within the document", owner: "sip:alice@example.com",
			body: services(inline("sip:friends@example.com") + inline("sip:friends@EXAMPLE.com")), wantTag: "uniqueness-failure",
			want: []ut.Exists{{Field: "rls-services/service/@uri", AltValues: []string{"sip:friends-2@EXAMPLE.com", "sip:friends-3@EXAMPLE.com", "sip:friends-4@EXAMPLE.com"}}}},
		{name: "RFC 4826 §4.4.5: service URI unique across all users", owner: "sip:alice@example.com",
			body: services(inline("sip:bobs-friends@example.com")), wantTag: "uniqueness-failure",
			want: []ut.Exists{{Field: "rls-services/service/@uri", AltValues: []string{"sip:bobs-friends-2@example.com", "sip:bobs-friends-3@example.com", "sip:bobs-friends-4@example.com"}}}},
		{name: "RFC 4826 §4.4.5: alternatives skip URIs in use", owner: "sip:alice@example.com",
			body: services(inline("sip:mybuddies@example.com") + inline("sip:mybuddies-2@example.com")), wantTag: "uniqueness-failure",
			want: []ut.Exists{{Field: "rls-services/service/@uri", AltValues: []string{"sip:mybuddies-3@example.com", "sip:mybuddies-4@example.com", "sip:mybuddies-5@example.com"}}}},
		{name: "RFC 4826 §4.4.5: the owner's own stored version does not conflict", owner: "sip:bob@example.com",
			body: services(inline("sip:bobs-friends@example.com"))},
		{name: "RFC 4826 §4.4.8: the global index does not reserve URIs", owner: "sip:alice@example.com",
			body: services(inline("sip:stale@example.com"))},
		{name: "RFC 4826 §4.4.5: resource-list must be an absolute HTTP URI", owner: "sip:alice@example.com",
			body: services(`<service uri="sip:a@x"><resource-list>resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list</resource-list></service>`), wantTag: "constraint-failure"},
		{name: "RFC 4826 §4.4.5: resource-list under the owner's tree", owner: "sip:alice@example.com",
			body: services(`<service uri="sip:a@x"><resource-list>http://x/resource-lists/users/sip:bob@example.com/index/~~/resource-lists/list</resource-list></service>`), wantTag: "constraint-failure"},
		{name: "RFC 4826 §4.4.5: resource-list selects a list", owner: "sip:alice@example.com",
			body: services(`<service uri="sip:a@x"><resource-list>http://x/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5b1%5d/entry</resource-list></service>`), wantTag: "constraint-failure"},
		{name: "RFC 4826 §4.4.5: resource-list is an element, not a document", owner: "sip:alice@example.com",
			body: services(`<service uri="sip:a@x"><resource-list>http://x/resource-lists/users/sip:alice@example.com/index</resource-list></service>`), wantTag: "constraint-failure"},
		{name: "RFC 4826 §4.4.5: inline list follows §3.4.5", owner: "sip:alice@example.com",
			body: services(`<service uri="sip:a@x"><list><rl:entry uri="sip:b@x"/><rl:entry uri="sip:b@x"/></list></service>`), wantTag: "uniqueness-failure",
			want: []ut.Exists{{Field: `rls-services/service[@uri="sip:a@x"]/list/rl:entry/@uri`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := u.Check(t.Context(), ut.Candidate{Key: key(tc.owner), Body: []byte(tc.body), Documents: others})
			if tc.wantTag == "" {
				if err != nil {
					t.Fatalf("Check = %v", err)
				}
				return
			}
			var c *ut.Conflict
			if !errors.As(err, &c) || c.Tag != tc.wantTag {
				t.Fatalf("Check = %v, want %s", err, tc.wantTag)
			}
			if tc.want != nil && !reflect.DeepEqual(c.Exists, tc.want) {
				t.Errorf("exists = %#v\nwant %#v", c.Exists, tc.want)
			}
		})
	}
}

func TestCheckRefusesGlobalWrites(t *testing.T) {
	u := newUsage(t)
	err := u.Check(t.Context(), ut.Candidate{Key: ut.DocumentKey{AUID: AUID, Name: IndexName}, Body: []byte(services(""))})
	var c *ut.Conflict
	if !errors.As(err, &c) || c.Tag != "constraint-failure" {
		t.Fatalf("RFC 4826 §4.4.8: Check(global/index) = %v", err)
	}
}

func TestGlobalIndex(t *testing.T) {
	u := newUsage(t)
	stored := docs{
		key("sip:alice@example.com"): golden(t, "a8.2-rls-services.xml"),
		key("sip:joe@example.com"):   golden(t, "rfc4826-4.3.xml"),
	}
	gen := u.GlobalGenerator()
	body, err := gen.Generate(t.Context(), ut.DocumentKey{AUID: AUID, Name: IndexName}, stored)
	if err != nil {
		t.Fatal(err)
	}
	// The index is itself a valid rls-services document (RFC 4826 §4.4.8).
	if err := u.schema.Validate(t.Context(), body); err != nil {
		t.Fatalf("index invalid: %v\n%s", err, body)
	}
	for _, want := range []string{`uri="sip:user1_list1@home1.net"`, `uri="sip:mybuddies@example.com"`, `uri="sip:marketing@example.com"`, `<rl:entry uri="sip:sudhir@example.com"/>`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("index lacks %s:\n%s", want, body)
		}
	}
	want, err := os.ReadFile(filepath.Join("testdata", "global-index.golden.xml"))
	if err != nil || string(want) != string(body) {
		if os.Getenv("UPDATE_GOLDEN") != "" {
			_ = os.WriteFile(filepath.Join("testdata", "global-index.golden.xml"), body, 0o644)
		}
		t.Errorf("index differs from testdata/global-index.golden.xml (UPDATE_GOLDEN=1 rewrites it):\n%s", body)
	}
	for _, k := range []ut.DocumentKey{{AUID: AUID, Name: "other"}, key("sip:alice@example.com")} {
		if b, err := gen.Generate(t.Context(), k, stored); b != nil || err != nil {
			t.Errorf("Generate(%v) = %q, %v; want no document", k, b, err)
		}
	}
}

func BenchmarkCheckAgainst100Users(b *testing.B) {
	u := newUsage(b)
	others := docs{}
	for i := range 100 {
		xui := "sip:user" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "@example.com"
		others[key(xui+string(rune('0'+i%10)))] = services(inline("sip:list" + xui[4:]))
	}
	c := ut.Candidate{Key: key("sip:alice@example.com"), Body: []byte(golden(b, "a8.2-rls-services.xml")), Documents: others}
	for b.Loop() {
		if err := u.Check(b.Context(), c); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzCheck(f *testing.F) {
	f.Add([]byte(golden(f, "rfc4826-4.3.xml")))
	f.Add([]byte(golden(f, "a8.2-rls-services.xml")))
	f.Add([]byte(services(inline("sip:a@x") + inline("sip:a@x"))))
	u := newUsage(f)
	others := docs{key("sip:bob@example.com"): services(inline("sip:bobs-friends@example.com"))}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := u.Check(t.Context(), ut.Candidate{Key: key("sip:alice@example.com"), Body: body, Documents: others})
		var c *ut.Conflict
		if err != nil && !errors.As(err, &c) {
			t.Fatalf("Check = %v: every refusal must be an RFC 4825 §11 conflict", err)
		}
		if err == nil {
			// Whatever is accepted can be merged into a valid global index.
			idx, err := u.GlobalGenerator().Generate(t.Context(), ut.DocumentKey{AUID: AUID, Name: IndexName},
				docs{key("sip:alice@example.com"): string(body)})
			if err != nil {
				t.Fatal(err)
			}
			if err := u.schema.Validate(t.Context(), idx); err != nil {
				t.Fatalf("index of an accepted document is invalid: %v\n%s", err, idx)
			}
		}
	})
}
