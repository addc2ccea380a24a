package configs

import (
	"strings"
	"testing"
)

func TestShippedSubscribers(t *testing.T) {
	s, err := LoadSubscribers("")
	if err != nil {
		t.Fatal(err)
	}
	alice, ok := s.ByIMPU("tel:+15550100")
	if !ok || alice.IMPI != "alice@example.com" || alice.Password != "alice" {
		t.Fatalf("tel alias of alice: %+v %v", alice, ok)
	}
	// TS 35.208 test set 1
	if alice.K != "465b5ce8b199b49faa5f0a2ee238a6bc" || alice.OPc != "cd63cb71954a9f4e48a5994e37a02baf" {
		t.Fatalf("alice K/OPc: %s %s", alice.K, alice.OPc)
	}
	if _, ok := s.ByIMPI("bob@example.com"); !ok {
		t.Fatal("bob missing")
	}
}

func TestBadSubscriberFileNamesTheKey(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"missing impi", "subscribers:\n  - impus: [sip:a@example.com]\n", "subscribers[0].impi"},
		{"no identity", "subscribers:\n  - impi: a\n", "subscribers[0].impus"},
		{"not a URI", "subscribers:\n  - impi: a\n    impus: [a@example.com]\n", "subscribers[0].impus[0]"},
		{"shared identity", "subscribers:\n  - impi: a\n    impus: [sip:a@x]\n  - impi: b\n    impus: [sip:a@x]\n", "subscribers[1].impus[0]"},
		{"short key", "subscribers:\n  - impi: a\n    impus: [sip:a@x]\n    k: abcd\n", "subscribers[0].k"},
		{"bad state", "subscribers:\n  - impi: a\n    impus: [sip:a@x]\n    state: ONLINE\n", "subscribers[0].state"},
		{"unknown key", "subscribers:\n  - impi: a\n    impus: [sip:a@x]\n    colour: red\n", "colour"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSubscribers([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name %s", err, tc.want)
			}
		})
	}
}
