package as_test

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/as/astest"
	"github.com/imsps/imsps/as/pidf"
)

// TestSeedFlowM1toM14 replays the example flow of draft-olson-simple-publish-02 §12
// (adapted to RFC 3903: SIP-If-Match and application/pidf+xml) at the agent level: a
// watcher and the presentity itself subscribe, a PUBLISH changes one tuple, and both get
// the composed state in their dialogs.
func TestSeedFlowM1toM14(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const pres = "sip:presentity@domain.com"
		cfg := as.DefaultConfig()
		cfg.Domains = []string{"domain.com"}
		n := astest.NewNotifier(64)
		dir := astest.NewDirectory("domain.com")
		a, err := as.NewAgent(cfg, astest.NewStore(), dir, n, discardLog())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = a.Run(ctx) }()
		defer func() { cancel(); <-done }()

		tuple := func(id, basic, ts string) []byte {
			return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="` + pres + `"><tuple id="` + id + `"><status><basic>` + basic +
				`</basic></status><timestamp>` + ts + `</timestamp></tuple></presence>`)
		}
		publish := func(ifMatch string, body []byte) as.PublishResult {
			t.Helper()
			r := as.PublishRequest{Presentity: pres, Publisher: pres, Event: "presence", IfMatch: ifMatch, Expires: 3600}
			if body != nil {
				r.ContentType, r.Body = "application/pidf+xml", body
			}
			res, err := a.Publish(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		// Before M1: the two devices of the presentity have published.
		mobile := publish("", tuple("mobile-phone", "open", "2003-02-01T16:49:29Z"))
		publish("", tuple("desktop", "open", "2003-02-01T12:21:29Z"))

		subscribe := func(callID, fromTag, from string) string {
			t.Helper()
			res, err := a.Subscribe(context.Background(), as.SubscribeRequest{
				Dialog: as.Dialog{CallID: callID, RemoteTag: fromTag, LocalURI: "<" + pres + ">", RemoteURI: "<" + from + ">",
					RemoteTarget: from, Transport: "udp", Source: "10.0.0.1:5060"},
				Resource: pres, Watcher: from, Event: "presence", Expires: 3600,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Expires != 3600*time.Second { // M2, M6
				t.Fatalf("200 Expires %v", res.Expires)
			}
			res.Activate()
			synctest.Wait()
			return res.LocalTag
		}
		check := func(step string, nt as.Notification, cseq uint32, want map[string]string) {
			t.Helper()
			if nt.CSeq != cseq || nt.State != as.StateActive || nt.Event != "presence" || nt.ContentType != "application/pidf+xml" {
				t.Fatalf("%s: %+v", step, nt)
			}
			doc, err := pidf.Parse(nt.Body)
			if err != nil {
				t.Fatalf("%s: body does not parse: %v", step, err)
			}
			tuples := 0
			for _, e := range doc.Elements {
				if e.Kind == pidf.KindTuple {
					tuples++
					if basic, ok := want[e.ID]; !ok || !bytes.Contains(e.XML, []byte("<basic>"+basic+"</basic>")) {
						t.Fatalf("%s: tuple %s = %s", step, e.ID, e.XML)
					}
				}
			}
			if tuples != len(want) {
				t.Fatalf("%s: %d tuples, want %d: %s", step, tuples, len(want), nt.Body)
			}
		}

		// M1-M4: the watcher subscribes and gets the full state.
		watcher := subscribe("12345678@10.0.0.1", "12341234", "sip:watcher@domain.com")
		check("M3", n.For(watcher)[0], 1, map[string]string{"mobile-phone": "open", "desktop": "open"})
		// M5-M8: the PUA subscribes to its own presentity.
		self := subscribe("87654321@10.0.0.2", "43214321", pres)
		check("M7", n.For(self)[0], 1, map[string]string{"mobile-phone": "open", "desktop": "open"})

		// M9-M10: the PUA publishes a change of its mobile-phone tuple.
		res := publish(mobile.ETag, tuple("mobile-phone", "closed", "2003-02-01T17:00:19Z"))
		if res.ETag == "" || res.ETag == mobile.ETag || res.Expires != 3600*time.Second {
			t.Fatalf("M10: %+v", res)
		}
		time.Sleep(cfg.NotifyInterval)
		synctest.Wait()
		// M11-M14: both watchers are told, CSeq 2 in their own dialogs.
		want := map[string]string{"mobile-phone": "closed", "desktop": "open"}
		wn, sn := n.For(watcher), n.For(self)
		if len(wn) != 2 || len(sn) != 2 {
			t.Fatalf("NOTIFYs: watcher %d, self %d", len(wn), len(sn))
		}
		check("M11", wn[1], 2, want)
		check("M13", sn[1], 2, want)
		if wn[1].Dialog.CallID != "12345678@10.0.0.1" || sn[1].Dialog.CallID != "87654321@10.0.0.2" {
			t.Fatal("NOTIFYs left their dialogs")
		}
	})
}
