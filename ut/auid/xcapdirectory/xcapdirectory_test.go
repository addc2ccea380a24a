package xcapdirectory

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imsps/imsps/ut"
)

// store is an in-memory reader that lists documents with ETags like the engine's.
type store []ut.DocumentInfo

func (s store) Each(ctx context.Context, auid string, fn func(ut.DocumentKey, []byte) error) error {
	for _, d := range s {
		if d.Key.AUID == auid {
			if err := fn(d.Key, make([]byte, d.Size)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s store) EachInfo(ctx context.Context, xui string, fn func(ut.DocumentInfo) error) error {
	for _, d := range s {
		if d.Key.XUI == xui {
			if err := fn(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// eachOnly lists no ETags.
type eachOnly struct{ docs store }

func (e eachOnly) Each(ctx context.Context, auid string, fn func(ut.DocumentKey, []byte) error) error {
	return e.docs.Each(ctx, auid, fn)
}

type fakeUsage string

func (f fakeUsage) AUID() string                              { return string(f) }
func (f fakeUsage) MediaType() string                         { return "application/xml" }
func (f fakeUsage) DefaultNamespace() string                  { return "urn:example" }
func (f fakeUsage) Check(context.Context, ut.Candidate) error { return nil }

const alice = "sip:alice@example.com"

func doc(auid, xui, name, etag string, size int) ut.DocumentInfo {
	return ut.DocumentInfo{Key: ut.DocumentKey{AUID: auid, XUI: xui, Name: name}, ETag: etag, Size: size}
}

func newUsage(t *testing.T) *Usage {
	t.Helper()
	registry := func() []ut.AppUsage {
		return []ut.AppUsage{fakeUsage("resource-lists"), fakeUsage("pres-rules"), fakeUsage("pidf-manipulation")}
	}
	u, err := New(t.Context(), "http://127.0.0.1:8080/xcap-root/", registry)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestGenerate(t *testing.T) {
	u := newUsage(t)
	s := store{
		doc("resource-lists", alice, "index", `"e1"`, 310),
		doc("pres-rules", alice, "index", `"e2"`, 700),
		doc("resource-lists", alice, "work lists", `"e3"`, 90),
		doc("resource-lists", "sip:bob@example.com", "index", `"e4"`, 12),
		doc("rls-services", alice, "index", `"e5"`, 400),
	}
	body, err := u.Generate(t.Context(), ut.DocumentKey{AUID: AUID, XUI: alice, Name: DocumentName}, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Check(t.Context(), ut.Candidate{Key: ut.DocumentKey{AUID: AUID, XUI: alice, Name: DocumentName}, Body: body}); err != nil {
		t.Fatalf("OMA XDM: generated directory is not valid: %v\n%s", err, body)
	}
	if strings.Contains(string(body), "bob") {
		t.Errorf("another user's documents listed:\n%s", body)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "directory.golden.xml"))
	if err != nil || string(want) != string(body) {
		if os.Getenv("UPDATE_GOLDEN") != "" {
			_ = os.WriteFile(filepath.Join("testdata", "directory.golden.xml"), body, 0o644)
		}
		t.Errorf("directory differs from testdata/directory.golden.xml (UPDATE_GOLDEN=1 rewrites it):\n%s", body)
	}
}

func TestGenerateKeys(t *testing.T) {
	u := newUsage(t)
	for _, k := range []ut.DocumentKey{{AUID: AUID, Name: DocumentName}, {AUID: AUID, XUI: alice, Name: "index"}} {
		if b, err := u.Generate(t.Context(), k, store{}); b != nil || err != nil {
			t.Errorf("OMA XDM: Generate(%v) = %q, %v; want no document", k, b, err)
		}
		var c *ut.Conflict
		if err := u.AllowName(k); !errors.As(err, &c) {
			t.Errorf("AllowName(%v) = %v", k, err)
		}
	}
	_, err := u.Generate(t.Context(), ut.DocumentKey{AUID: AUID, XUI: alice, Name: DocumentName}, eachOnly{})
	if !errors.Is(err, ErrNoInfo) {
		t.Errorf("Generate without ut.InfoReader = %v, want ErrNoInfo", err)
	}
}

func TestNewRejectsRelativeRoot(t *testing.T) {
	if _, err := New(t.Context(), "xcap-root", nil); err == nil {
		t.Error("New accepted a relative XCAP root")
	}
}
