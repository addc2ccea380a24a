package resourcelists_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/imsps/imsps/ut"
	"github.com/imsps/imsps/ut/auid/resourcelists"
)

// A resource list with two lists named "friends" under one parent breaks RFC 4826 §3.4.5;
// the conflict names the field and proposes free names.
func Example() {
	ctx := context.Background()
	usage, err := resourcelists.New(ctx) // compile once, at start-up
	if err != nil {
		panic(err)
	}
	doc := `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list name="friends"><entry uri="sip:bob@example.com"/></list>
  <list name="friends"/>
</resource-lists>`
	err = usage.Check(ctx, ut.Candidate{
		Key:  ut.DocumentKey{AUID: resourcelists.AUID, XUI: "sip:alice@example.com", Name: "index"},
		Body: []byte(doc),
	})
	var c *ut.Conflict
	if errors.As(err, &c) {
		fmt.Println(c.Tag, c.Exists[0].Field, c.Exists[0].AltValues)
	}
	// Output: uniqueness-failure resource-lists/list/@name [friends-2 friends-3 friends-4]
}
