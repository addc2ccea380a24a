package as

import (
	"errors"
	"testing"
)

func TestParseAOR(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"RFC3903 §6 step 5: plain SIP URI", "sip:alice@example.com", "sip:alice@example.com"},
		{"RFC3903 §6 step 5: URI parameters removed", "sip:alice@example.com;transport=tcp;lr", "sip:alice@example.com"},
		{"RFC3903 §6 step 5: user parameter removed", "sip:+15550100@example.com;user=phone", "sip:+15550100@example.com"},
		{"RFC3903 §6 step 5: escapes decoded", "sip:%61lice@example.com", "sip:alice@example.com"},
		{"RFC3903 §6 step 5: escaped unreserved in upper-case hex decoded", "sip:al%69ce@example.com", "sip:alice@example.com"},
		{"RFC3261 §19.1.4: host case-insensitive", "sip:alice@EXAMPLE.Com", "sip:alice@example.com"},
		{"RFC3261 §19.1.4: scheme case-insensitive", "SIP:alice@example.com", "sip:alice@example.com"},
		{"RFC3261 §19.1.4: user case-sensitive", "sip:Alice@example.com", "sip:Alice@example.com"},
		{"RFC3261 §10.3: port dropped", "sip:alice@example.com:5070", "sip:alice@example.com"},
		{"RFC3261 §19.1.1: password dropped", "sip:alice:secret@example.com", "sip:alice@example.com"},
		{"RFC3261 §19.1.1: headers dropped", "sip:alice@example.com?subject=x", "sip:alice@example.com"},
		{"RFC3261 §19.1: sips maps to the same presentity", "sips:alice@example.com", "sip:alice@example.com"},
		{"RFC3261 §20.10: name-addr reduced to its URI", `"Alice" <sip:alice@example.com;lr>;tag=1`, "sip:alice@example.com"},
		{"RFC3261 §25.1: reserved char stays escaped", "sip:a%40b@example.com", "sip:a%40b@example.com"},
		{"RFC3261 §25.1: lower-case escape normalised", "sip:a%2fb%20c@example.com", "sip:a/b%20c@example.com"},
		{"RFC3261 §25.1: IPv6 host", "sip:alice@[2001:DB8::1]:5060", "sip:alice@[2001:db8::1]"},
		{"RFC3966 §5.1.4: global number with separators", "tel:+1-555-0100", "tel:+15550100"},
		{"RFC3966 §5.1.4: tel parameters removed", "tel:+1.555.0100;ext=1", "tel:+15550100"},
		{"RFC3966: scheme case-insensitive", "TEL:+15550100", "tel:+15550100"},
		{"trailing dot of a host removed", "sip:alice@example.com.", "sip:alice@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAOR(tc.in)
			if err != nil {
				t.Fatalf("ParseAOR(%q): %v", tc.in, err)
			}
			if string(got) != tc.want {
				t.Fatalf("ParseAOR(%q) = %q, want %q", tc.in, got, tc.want)
			}
			again, err := ParseAOR(string(got))
			if err != nil || again != got {
				t.Fatalf("not canonical: ParseAOR(%q) = %q, %v", got, again, err)
			}
		})
	}
}

func TestParseAORRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"no scheme", "alice@example.com"},
		{"unsupported scheme", "mailto:alice@example.com"},
		{"RFC3903 presentity needs a user part", "sip:example.com"},
		{"empty user", "sip:@example.com"},
		{"empty host", "sip:alice@"},
		{"bad host char", "sip:alice@exa_mple.com"},
		{"bad escape", "sip:al%zzce@example.com"},
		{"truncated escape", "sip:alice%4@example.com"},
		{"space in user", "sip:al ice@example.com"},
		{"bad port", "sip:alice@example.com:50x"},
		{"unterminated IPv6", "sip:alice@[::1"},
		{"unterminated name-addr", "<sip:alice@example.com"},
		{"RFC3966 local number without global form", "tel:5550100"},
		{"tel without digits", "tel:+"},
		{"tel with letters", "tel:+1555abc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAOR(tc.in)
			if err == nil {
				t.Fatalf("ParseAOR(%q) = %q, want error", tc.in, got)
			}
			if !errors.Is(err, ErrBadURI) {
				t.Fatalf("error %v does not wrap ErrBadURI", err)
			}
		})
	}
}

func TestAORDomain(t *testing.T) {
	if d := AOR("sip:a%40b@example.com").Domain(); d != "example.com" {
		t.Fatalf("Domain = %q", d)
	}
	if d := AOR("tel:+1").Domain(); d != "" || !AOR("tel:+1").IsTel() {
		t.Fatalf("tel Domain = %q", d)
	}
}

func FuzzParseAOR(f *testing.F) {
	for _, s := range []string{
		"sip:alice@example.com", "sips:Bob@EXAMPLE.com:5061;transport=tls", "sip:%61lice@example.com",
		"tel:+1-555-0100;phone-context=x", "<sip:a%40b@[::1]>;tag=9", "sip:+1;npdi@example.com;user=phone",
		"sip:alice:pw@example.com?x=y", "tel:5550100", "sip:@x", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		aor, err := ParseAOR(in)
		if err != nil {
			return
		}
		again, err := ParseAOR(string(aor))
		if err != nil {
			t.Fatalf("ParseAOR(%q) = %q, which does not parse: %v", in, aor, err)
		}
		if again != aor {
			t.Fatalf("ParseAOR(%q) = %q, not canonical: reparsed %q", in, aor, again)
		}
	})
}
