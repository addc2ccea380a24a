package ut

import (
	"reflect"
	"testing"
)

func TestParseURI(t *testing.T) {
	const root = "/xcap-root"
	tests := []struct {
		name    string
		path    string
		query   string
		want    URI
		wantSel string
		wantErr bool
		notFnd  bool
	}{
		{name: "RFC4825 §6.2: users tree document",
			path: "/xcap-root/resource-lists/users/sip:alice@example.com/index",
			want: URI{AUID: "resource-lists", XUI: "sip:alice@example.com", Document: "index"}},
		{name: "RFC4825 §6.2: global tree document",
			path: "/xcap-root/xcap-caps/global/index",
			want: URI{AUID: "xcap-caps", Document: "index"}},
		{name: "RFC4825 §6.2: document in a sub-folder",
			path: "/xcap-root/resource-lists/users/sip:alice@example.com/friends/work",
			want: URI{AUID: "resource-lists", XUI: "sip:alice@example.com", Document: "friends/work"}},
		{name: "RFC4825 §6.3: encoded node selector",
			path:    "/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5B@name=%22friends%22%5D",
			want:    URI{AUID: "resource-lists", XUI: "sip:alice@example.com", Document: "index"},
			wantSel: `resource-lists/list[@name="friends"]`},
		{name: "RFC4825 §6.3: unencoded brackets and quotes as clients send them",
			path:    `/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list[@name="friends"]/entry[2]`,
			want:    URI{AUID: "resource-lists", XUI: "sip:alice@example.com", Document: "index"},
			wantSel: `resource-lists/list[@name="friends"]/entry[2]`},
		{name: "RFC4825 §6.3: encoded slash inside a predicate stays in the step",
			path:    `/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5B@name=%22a%2Fb%22%5D/entry`,
			want:    URI{AUID: "resource-lists", XUI: "sip:alice@example.com", Document: "index"},
			wantSel: `resource-lists/list[@name="a/b"]/entry`},
		{name: "RFC4825 §6.3: literal slash inside a quoted predicate stays in the step",
			path:    `/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list[@name="a/b"]/entry`,
			want:    URI{AUID: "resource-lists", XUI: "sip:alice@example.com", Document: "index"},
			wantSel: `resource-lists/list[@name="a/b"]/entry`},
		{name: "RFC4825 §6.3: attribute and namespace selectors",
			path:    `/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list/@name`,
			want:    URI{AUID: "resource-lists", XUI: "sip:alice@example.com", Document: "index"},
			wantSel: `resource-lists/list/@name`},
		{name: "RFC4825 §6.4: xmlns() query binds prefixes",
			path:    `/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/rl:resource-lists/x:note`,
			query:   "xmlns(rl=urn:ietf:params:xml:ns:resource-lists)xmlns(x=urn:example:ext)",
			want:    URI{AUID: "resource-lists", XUI: "sip:alice@example.com", Document: "index", Namespaces: map[string]string{"rl": "urn:ietf:params:xml:ns:resource-lists", "x": "urn:example:ext"}},
			wantSel: `rl:resource-lists/x:note`},
		{name: "RFC4825 §6.4: encoded xmlns() query",
			path:    `/xcap-root/a/global/d/~~/x:r`,
			query:   "xmlns%28x%3Durn%3Aexample%29",
			want:    URI{AUID: "a", Document: "d", Namespaces: map[string]string{"x": "urn:example"}},
			wantSel: `x:r`},
		{name: "dot-dot segment refused", path: "/xcap-root/resource-lists/users/sip:alice@example.com/../sip:bob@example.com/index", wantErr: true},
		{name: "encoded dot-dot refused", path: "/xcap-root/resource-lists/users/sip:alice@example.com/%2E%2E/x", wantErr: true},
		{name: "encoded slash in the document path refused", path: "/xcap-root/resource-lists/users/sip:alice@example.com/a%2Fb", wantErr: true},
		{name: "bad percent escape refused", path: "/xcap-root/resource-lists/users/sip:alice@example.com/a%2", wantErr: true},
		{name: "unknown tree is 404", path: "/xcap-root/resource-lists/others/x/index", wantErr: true, notFnd: true},
		{name: "outside the root is 404", path: "/other/resource-lists/global/index", wantErr: true, notFnd: true},
		{name: "RFC4825 §6.3: malformed selector is 400", path: "/xcap-root/a/global/d/~~/r/e[", wantErr: true},
		{name: "RFC4825 §6.4: query other than xmlns() is 400", path: "/xcap-root/a/global/d", query: "foo=bar", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseURI(root, tc.path, tc.query)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseURI = %+v, want error", u)
				}
				if ue, ok := err.(*URIError); ok && ue.NotFound != tc.notFnd {
					t.Fatalf("NotFound = %v, want %v (%v)", ue.NotFound, tc.notFnd, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sel := ""
			if u.Node != nil {
				sel = u.Node.String()
			}
			if sel != tc.wantSel {
				t.Errorf("selector %q, want %q", sel, tc.wantSel)
			}
			u.Node = nil
			if !reflect.DeepEqual(u, tc.want) {
				t.Errorf("got %+v, want %+v", u, tc.want)
			}
		})
	}
}

func FuzzXCAPURI(f *testing.F) {
	for _, s := range []string{
		"/xcap-root/resource-lists/users/sip:alice@example.com/index",
		`/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list[@name="friends"]/entry[2][@uri="sip:b@x"]/@uri`,
		"/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5B@name=%22a%2Fb%22%5D/namespace::*",
		"/xcap-root/pidf-manipulation/global/index/~~/*[3]",
		"/xcap-root/a/users/tel:+1555/d/e/f/~~/x:a/b[@c='&amp;&quot;']",
	} {
		f.Add(s, "")
		f.Add(s, "xmlns(x=urn:example:x)xmlns(rl=urn:ietf:params:xml:ns:resource-lists)")
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		u, err := ParseURI("/xcap-root", path, query)
		if err != nil {
			return
		}
		s := u.String()
		p, q, _ := cutQuery(s)
		u2, err := ParseURI("/xcap-root", "/xcap-root"+p, q)
		if err != nil {
			t.Fatalf("format %q of %q does not parse: %v", s, path, err)
		}
		if !reflect.DeepEqual(u, u2) {
			t.Fatalf("parse(format(x)) != x:\n%#v\n%#v\nvia %q", u, u2, s)
		}
		if u2.String() != s {
			t.Fatalf("format not stable: %q then %q", s, u2.String())
		}
	})
}

func cutQuery(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '?' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
