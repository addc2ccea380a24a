package xcapcaps_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/imsps/imsps/ut"
	"github.com/imsps/imsps/ut/auid/pidfmanip"
	"github.com/imsps/imsps/ut/auid/presrules"
	"github.com/imsps/imsps/ut/auid/resourcelists"
	"github.com/imsps/imsps/ut/auid/rlsservices"
	"github.com/imsps/imsps/ut/auid/xcapcaps"
	"github.com/imsps/imsps/ut/auid/xcapdirectory"
)

// registry builds every usage the way cmd/imsps wires them.
func registry(t *testing.T) (*xcapcaps.Usage, []ut.AppUsage) {
	t.Helper()
	ctx := t.Context()
	var usages []ut.AppUsage
	caps, err := xcapcaps.New(ctx, func() []ut.AppUsage { return usages })
	if err != nil {
		t.Fatal(err)
	}
	rl, err := resourcelists.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rls, err := rlsservices.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := presrules.New(ctx, presrules.AUID)
	if err != nil {
		t.Fatal(err)
	}
	oma, err := presrules.New(ctx, presrules.OMAAUID)
	if err != nil {
		t.Fatal(err)
	}
	pidf, err := pidfmanip.New(ctx, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := xcapdirectory.New(ctx, "http://127.0.0.1:8080/xcap-root", func() []ut.AppUsage { return usages })
	if err != nil {
		t.Fatal(err)
	}
	usages = []ut.AppUsage{caps, rl, rls, pr, oma, pidf, dir}
	return caps, usages
}

var global = ut.DocumentKey{AUID: xcapcaps.AUID, Name: xcapcaps.DocumentName}

func TestGenerateListsTheRegistry(t *testing.T) {
	caps, _ := registry(t)
	body, err := caps.Generate(t.Context(), global, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := caps.Check(t.Context(), ut.Candidate{Key: global, Body: body}); err != nil {
		t.Fatalf("RFC 4825 §12.3: generated document is not valid: %v\n%s", err, body)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "index.golden.xml"))
	if err != nil || string(want) != string(body) {
		if os.Getenv("UPDATE_GOLDEN") != "" {
			_ = os.WriteFile(filepath.Join("testdata", "index.golden.xml"), body, 0o644)
		}
		t.Errorf("RFC 4825 §12.1: document differs from testdata/index.golden.xml (UPDATE_GOLDEN=1 rewrites it):\n%s", body)
	}
}

func TestOnlyGlobalIndex(t *testing.T) {
	caps, _ := registry(t)
	for _, k := range []ut.DocumentKey{{AUID: xcapcaps.AUID, XUI: "sip:alice@example.com", Name: "index"}, {AUID: xcapcaps.AUID, Name: "other"}} {
		if b, err := caps.Generate(t.Context(), k, nil); b != nil || err != nil {
			t.Errorf("RFC 4825 §12.6: Generate(%v) = %q, %v", k, b, err)
		}
		var c *ut.Conflict
		if err := caps.AllowName(k); !errors.As(err, &c) {
			t.Errorf("RFC 4825 §12.6: AllowName(%v) = %v", k, err)
		}
	}
	if _, err := xcapcaps.New(t.Context(), nil); err == nil {
		t.Error("New accepted a nil registry")
	}
}

func TestCheckSchema(t *testing.T) {
	caps, _ := registry(t)
	for _, tc := range []struct{ name, body, wantTag string }{
		{"RFC 4825 §12.3: auids and namespaces", `<xcap-caps xmlns="urn:ietf:params:xml:ns:xcap-caps"><auids><auid>a</auid></auids><extensions/><namespaces><namespace>urn:a</namespace></namespaces></xcap-caps>`, ""},
		{"RFC 4825 §12.3: namespaces required", `<xcap-caps xmlns="urn:ietf:params:xml:ns:xcap-caps"><auids/></xcap-caps>`, "schema-validation-error"},
		{"RFC 4825 §12.3: auids before namespaces", `<xcap-caps xmlns="urn:ietf:params:xml:ns:xcap-caps"><namespaces/><auids/></xcap-caps>`, "schema-validation-error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := caps.Check(t.Context(), ut.Candidate{Key: global, Body: []byte(tc.body)})
			var c *ut.Conflict
			if (tc.wantTag == "") != (err == nil) || (err != nil && (!errors.As(err, &c) || c.Tag != tc.wantTag)) {
				t.Fatalf("Check = %v, want %q", err, tc.wantTag)
			}
		})
	}
}
