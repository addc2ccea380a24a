package ut

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseAssertedIdentity(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"TS24.109 §7: one quoted identity", `"sip:alice@example.com"`, []string{"sip:alice@example.com"}},
		{"TS24.109 §7: a list", `"sip:alice@example.com", "tel:+15550100"`, []string{"sip:alice@example.com", "tel:+15550100"}},
		{"TS24.109 §7: unquoted", `sip:alice@example.com`, []string{"sip:alice@example.com"}},
		{"TS24.109 §7: a comma inside quotes stays", `"sip:a,b@example.com"`, []string{"sip:a,b@example.com"}},
		{"empty", ` , `, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseAssertedIdentity(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	for in, want := range map[string]string{
		"<sip:Alice@EXAMPLE.com;user=phone>": "sip:Alice@example.com",
		"SIP:bob@Example.com":                "sip:bob@example.com",
		"tel:+1555":                          "tel:+1555",
	} {
		if got := canonID(in); got != want {
			t.Errorf("canonID(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzAssertedIdentity(f *testing.F) {
	f.Add(`"sip:alice@example.com", "tel:+15550100"`)
	f.Add(`"sip:a,b@example.com"`)
	f.Fuzz(func(t *testing.T, v string) {
		for _, id := range parseAssertedIdentity(v) {
			if id == "" || id != strings.TrimSpace(id) {
				t.Fatalf("bad identity %q from %q", id, v)
			}
			_ = canonID(id)
			_ = canonXUI(id)
		}
	})
}
