package pidfmanip

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imsps/imsps/ut"
)

func key(name string) ut.DocumentKey {
	return ut.DocumentKey{AUID: AUID, XUI: "sip:alice@example.com", Name: name}
}

func newUsage(t testing.TB, onChange ChangeFunc, log *slog.Logger) *Usage {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, err := New(t.Context(), onChange, log)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func golden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func presence(s string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:alice@example.com">` + s + `</presence>`
}

func TestRegistration(t *testing.T) {
	u := newUsage(t, nil, nil)
	if u.AUID() != "pidf-manipulation" || u.MediaType() != "application/pidf+xml" || u.DefaultNamespace() != "urn:ietf:params:xml:ns:pidf" {
		t.Errorf("RFC 4827 §4-§6: got %s %s %s", u.AUID(), u.MediaType(), u.DefaultNamespace())
	}
	if _, err := New(t.Context(), nil, nil); err == nil {
		t.Error("New accepted a nil logger")
	}
}

func TestAllowName(t *testing.T) {
	u := newUsage(t, nil, nil)
	for _, tc := range []struct {
		name string
		key  ut.DocumentKey
		ok   bool
	}{
		{"RFC 4827 §9: index in the users tree", key("index"), true},
		{"RFC 4827 §9: one document per user (TS 24.141 draft pidf.xml refused)", key("pidf.xml"), false},
		{"RFC 4827 §9: no global documents", ut.DocumentKey{AUID: AUID, Name: "index"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := u.AllowName(tc.key)
			var c *ut.Conflict
			if tc.ok != (err == nil) || (err != nil && (!errors.As(err, &c) || c.Tag != "constraint-failure")) {
				t.Fatalf("AllowName(%v) = %v", tc.key, err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	u := newUsage(t, nil, nil)
	for _, tc := range []struct {
		name    string
		body    string
		wantTag string
	}{
		{name: "RFC 4827 §11: example document", body: string(golden(t, "rfc4827-11.xml"))},
		{name: "TS 24.141 A.8.4 step 3: presence document with a MIME object reference", body: string(golden(t, "a8.4-3-put.xml"))},
		{name: "TS 24.141 A.8.4 step 10: document after the tuple PUT", body: string(golden(t, "a8.4-10-after-put.xml"))},
		{name: "TS 24.141 A.8.4 draft: cpim-pidf namespace refused", body: string(golden(t, "a8.4-3-draft.xml")), wantTag: "schema-validation-error"},
		{name: "RFC 3863 §4.1.1: presence without entity", body: `<presence xmlns="urn:ietf:params:xml:ns:pidf"/>`, wantTag: "schema-validation-error"},
		{name: "RFC 3863 §4.1.1: presence with no tuple", body: presence(``)},
		{name: "RFC 3863 §4.1.4: tuple without status", body: presence(`<tuple id="t"/>`), wantTag: "schema-validation-error"},
		{name: "RFC 3863 §4.1.4: basic is open or closed", body: presence(`<tuple id="t"><status><basic>busy</basic></status></tuple>`), wantTag: "schema-validation-error"},
		{name: "RFC 3863 §4.1.5: contact priority is a q-value", body: presence(`<tuple id="t"><status/><contact priority="1.5">sip:a@b</contact></tuple>`), wantTag: "schema-validation-error"},
		{name: "RFC 3863 §4.1.2: tuple ids unique", body: presence(`<tuple id="t"><status/></tuple><tuple id="t"><status/></tuple>`), wantTag: "schema-validation-error"},
		{name: "RFC 3863 §4.1.2: tuple id is an XML ID (the draft A.8.4 id 123sd is refused)", body: presence(`<tuple id="123sd"><status/></tuple>`), wantTag: "schema-validation-error"},
		{name: "RFC 3863 §4.1.7: timestamp is a dateTime", body: presence(`<tuple id="t"><status/><timestamp>yesterday</timestamp></tuple>`), wantTag: "schema-validation-error"},
		{name: "RFC 3863 §4.1: notes after tuples", body: presence(`<note>x</note><tuple id="t"><status/></tuple>`), wantTag: "schema-validation-error"},
		{name: "RFC 3863 §4.1: unknown PIDF element", body: presence(`<tuple id="t"><status/><mood>happy</mood></tuple>`), wantTag: "schema-validation-error"},
		{name: "RFC 4479 §4, RFC 4480: data-model and RPID extensions", body: presence(
			`<tuple id="t"><status><basic>open</basic></status><r:class>x</r:class><dm:deviceID>mac:8asd7d7d70</dm:deviceID><contact>sip:a@b</contact><note xml:lang="en">hi</note><timestamp>2026-11-21T07:00:00Z</timestamp></tuple>` +
				`<dm:person id="p"><r:activities><r:on-the-phone/></r:activities></dm:person><dm:device id="d"><dm:deviceID>mac:8asd7d7d70</dm:deviceID></dm:device>`)},
		{name: "RFC 4825 §11: not well-formed", body: presence(`<tuple id="t">`), wantTag: "not-well-formed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := u.Check(t.Context(), ut.Candidate{Key: key("index"), Body: []byte(tc.body)})
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
		})
	}
}

type call struct {
	xui  string
	body []byte
}

func TestChanged(t *testing.T) {
	var calls []call
	var logged bytes.Buffer
	fail := false
	hook := func(ctx context.Context, xui string, body []byte) error {
		calls = append(calls, call{xui, body})
		if fail {
			return errors.New("presence agent unavailable")
		}
		return nil
	}
	u := newUsage(t, hook, slog.New(slog.NewTextHandler(&logged, nil)))
	doc := golden(t, "a8.4-3-put.xml")

	u.Changed(t.Context(), key("index"), doc)
	u.Changed(t.Context(), key("index"), nil)
	u.Changed(t.Context(), ut.DocumentKey{AUID: AUID, Name: "index"}, doc)
	u.Changed(t.Context(), key("other"), doc)
	if len(calls) != 2 || calls[0].xui != "sip:alice@example.com" || !bytes.Equal(calls[0].body, doc) || calls[1].body != nil {
		t.Fatalf("RFC 4827 §3: hook calls = %+v; want the write then the delete of users/sip:alice@example.com/index", calls)
	}
	fail = true
	u.Changed(t.Context(), key("index"), doc)
	if !strings.Contains(logged.String(), "presence agent unavailable") || !strings.Contains(logged.String(), "xui=sip:alice@example.com") {
		t.Errorf("hook error not logged: %q", logged.String())
	}
	// A nil hook is allowed (no presence agent wired).
	newUsage(t, nil, nil).Changed(t.Context(), key("index"), doc)
}

func BenchmarkCheckA84(b *testing.B) {
	u := newUsage(b, nil, nil)
	c := ut.Candidate{Key: key("index"), Body: golden(b, "a8.4-3-put.xml")}
	for b.Loop() {
		if err := u.Check(b.Context(), c); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, name := range []string{"rfc4827-11.xml", "a8.4-3-put.xml", "a8.4-3-draft.xml"} {
		f.Add(golden(f, name))
	}
	u := newUsage(f, nil, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		err := u.Check(t.Context(), ut.Candidate{Key: key("index"), Body: body})
		var c *ut.Conflict
		if err != nil && !errors.As(err, &c) {
			t.Fatalf("Check = %v: every refusal must be an RFC 4825 §11 conflict", err)
		}
	})
}
