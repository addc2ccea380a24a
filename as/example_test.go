package as_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/as/astest"
	"github.com/imsps/imsps/as/presence"
)

// An embedder builds the agent with its own store, directory and notifier and registers
// the event packages it serves (presence is the default).
func ExampleNewAgent() {
	ag, err := as.NewAgent(as.DefaultConfig(), astest.NewStore(), astest.NewDirectory("example.com"),
		astest.NewNotifier(8), slog.New(slog.DiscardHandler), as.WithPackages(presence.New()))
	if err != nil {
		panic(err)
	}
	res, err := ag.Publish(context.Background(), as.PublishRequest{
		Presentity: "sip:alice@example.com", Publisher: "sip:alice@example.com", Event: "presence",
		Expires: -1, ContentType: "application/pidf+xml",
		Body: []byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">` +
			`<tuple id="a"><status><basic>open</basic></status></tuple></presence>`),
	})
	fmt.Println(ag.Packages(), res.Expires, err)
	// Output: [presence] 1h0m0s <nil>
}

func ExampleParseAOR() {
	aor, _ := as.ParseAOR(`"Alice" <sips:%61lice@EXAMPLE.com:5061;transport=tls>;tag=1`)
	fmt.Println(aor)
	// Output: sip:alice@example.com
}
