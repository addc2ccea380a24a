package ut_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/imsps/imsps/as/astest"
	"github.com/imsps/imsps/ut"
)

// notes is a minimal application usage: one AUID, its MIME type and default namespace,
// and a constraint.
type notes struct{}

func (notes) AUID() string             { return "notes" }
func (notes) MediaType() string        { return "application/vnd.example.notes+xml" }
func (notes) DefaultNamespace() string { return "urn:example:notes" }
func (notes) Check(ctx context.Context, c ut.Candidate) error {
	if strings.Contains(string(c.Body), "forbidden") {
		return &ut.Conflict{Tag: "constraint-failure", Phrase: "no forbidden notes"}
	}
	return nil
}

// Register an application usage and manipulate a document through the handler the
// authentication proxy wraps.
func ExampleNew() {
	srv, err := ut.New(ut.DefaultConfig(), astest.NewStore(), []ut.AppUsage{notes{}}, nil)
	if err != nil {
		panic(err)
	}
	h := srv.AssertedHandler()
	send := func(method, target, ctype, body string) {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("X-3GPP-Asserted-Identity", `"sip:alice@example.com"`)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(strings.TrimSpace(fmt.Sprint(method, " ", rec.Code, " ", rec.Header().Get("Content-Type"), " ", rec.Body.String())))
	}
	doc := "/xcap-root/notes/users/sip:alice@example.com/index"
	send("PUT", doc, "application/vnd.example.notes+xml", `<notes xmlns="urn:example:notes"><note id="a">hi</note></notes>`)
	send("PUT", doc+`/~~/notes/note%5B@id=%22b%22%5D`, "application/xcap-el+xml", `<note id="b">there</note>`)
	send("GET", doc+`/~~/notes/note%5B2%5D/@id`, "", "")
	send("GET", doc, "", "")
	// Output:
	// PUT 201
	// PUT 201
	// GET 200 application/xcap-att+xml b
	// GET 200 application/vnd.example.notes+xml <notes xmlns="urn:example:notes"><note id="a">hi</note><note id="b">there</note></notes>
}
