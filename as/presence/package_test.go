package presence_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/as/pidf"
	"github.com/imsps/imsps/as/presence"
)

var _ as.EventPackage = presence.New()

func TestPackage(t *testing.T) {
	pk := presence.New()
	if pk.Event() != "presence" || pk.NotifyType() != "application/pidf+xml" ||
		len(pk.PublishTypes()) != 1 || pk.PublishTypes()[0] != "application/pidf+xml" {
		t.Fatal("RFC 3856 §6.1/§6.7: wrong tokens")
	}
	doc := func(id, basic string) []byte {
		return []byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@example.com"><tuple id="` + id +
			`"><status><basic>` + basic + `</basic></status></tuple></presence>`)
	}
	hard, err := pk.Decode("", doc("h", "closed"), time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := pk.Decode("e1", doc("a", "open"), time.Unix(2, 0))
	s2, _ := pk.Decode("e2", doc("b", "open"), time.Unix(3, 0))
	body := pk.Body("sip:a@example.com", hard, []any{s1, s2})
	for _, id := range []string{`id="h"`, `id="a"`, `id="b"`} {
		if !bytes.Contains(body, []byte(id)) {
			t.Fatalf("RFC 3903 §4: composed body lacks %s: %s", id, body)
		}
	}
	if _, err := pidf.Parse(body); err != nil {
		t.Fatalf("composed body does not parse: %v", err)
	}
	if empty := pk.Body("sip:a@example.com", nil, nil); bytes.Contains(empty, []byte("<tuple")) {
		t.Fatalf("no state: %s", empty)
	}
	var pe *pidf.ParseError
	if _, err := pk.Decode("x", []byte("<presence"), time.Now()); !errors.As(err, &pe) {
		t.Fatalf("RFC 3903 §6: malformed body: %v", err)
	}
}
