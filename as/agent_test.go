package as_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/as/astest"
)

func pidfDoc(entity, tuple, basic string) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="%s"><tuple id="%s"><status><basic>%s</basic></status></tuple></presence>`,
		entity, tuple, basic)
}

const (
	expZero = -100 // Expires: 0 in fixture.publish (0 there means absent)
	alice   = "sip:alice@example.com"
	bob     = "sip:bob@example.com"
	pidfT   = "application/pidf+xml"
)

// fixture is an agent on in-memory doubles, running inside a synctest bubble.
type fixture struct {
	t      *testing.T
	a      *as.Agent
	st     *astest.Store
	dir    *astest.Directory
	n      *astest.Notifier
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func testConfig() as.Config {
	cfg := as.DefaultConfig()
	cfg.Domains = []string{"example.com", "example.org"}
	return cfg
}

func start(t *testing.T, cfg as.Config, st *astest.Store, n *astest.Notifier, opts ...as.Option) *fixture {
	t.Helper()
	if st == nil {
		st = astest.NewStore()
	}
	if n == nil {
		n = astest.NewNotifier(1024)
	}
	dir := astest.NewDirectory("example.com")
	dir.Alias(alice, "tel:+15550100")
	a, err := as.NewAgent(cfg, st, dir, n, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &fixture{t: t, a: a, st: st, dir: dir, n: n, cancel: cancel, done: make(chan struct{})}
	t.Cleanup(f.stop)
	go func() {
		defer close(f.done)
		if err := a.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	return f
}

// stop ends Run and waits for it.
func (f *fixture) stop() {
	f.once.Do(func() {
		f.cancel()
		<-f.done
	})
}

func (f *fixture) publish(r as.PublishRequest) (as.PublishResult, error) {
	if r.Event == "" {
		r.Event = "presence"
	}
	if r.Presentity == "" {
		r.Presentity = alice
	}
	if r.Publisher == "" {
		r.Publisher = r.Presentity
	}
	if len(r.Body) > 0 && r.ContentType == "" {
		r.ContentType = pidfT
	}
	switch r.Expires {
	case 0:
		r.Expires = -1
	case expZero:
		r.Expires = 0
	}
	return f.a.Publish(context.Background(), r)
}

func (f *fixture) mustPublish(r as.PublishRequest) as.PublishResult {
	f.t.Helper()
	res, err := f.publish(r)
	if err != nil {
		f.t.Fatalf("publish: %v", err)
	}
	return res
}

var callSeq int

func subReq(resource string, expires int) as.SubscribeRequest {
	callSeq++
	return as.SubscribeRequest{
		Dialog: as.Dialog{CallID: fmt.Sprintf("call-%d@watcher", callSeq), RemoteTag: "wt", LocalURI: "<" + resource + ">",
			RemoteURI: "<" + bob + ">", RemoteTarget: "sip:bob@127.0.0.1:5070", RouteSet: []string{"<sip:scscf.example.com;lr>"},
			Transport: "udp", Source: "127.0.0.1:5070"},
		Resource: resource, Watcher: bob, Event: "presence", Expires: expires, ChargingVector: "icid-value=1",
	}
}

// subscribe creates a subscription, activates it and waits for the first NOTIFY.
func (f *fixture) subscribe(resource string, expires int) (as.SubscribeRequest, as.SubscribeResult) {
	f.t.Helper()
	r := subReq(resource, expires)
	res, err := f.a.Subscribe(context.Background(), r)
	if err != nil {
		f.t.Fatalf("subscribe: %v", err)
	}
	res.Activate()
	synctest.Wait()
	r.Dialog.LocalTag = res.LocalTag
	return r, res
}

func (f *fixture) last(tag string) as.Notification {
	f.t.Helper()
	ns := f.n.For(tag)
	if len(ns) == 0 {
		f.t.Fatalf("no NOTIFY in dialog %s", tag)
	}
	return ns[len(ns)-1]
}

func TestPublishErrors(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 70<<10)
	tests := []struct {
		name  string
		dirOK bool
		req   as.PublishRequest
		check func(error) bool
	}{
		{name: "RFC3903 §6 step 4: missing Event -> 489", req: as.PublishRequest{Event: "-", Body: pidfDoc(alice, "t", "open")},
			check: func(err error) bool { return errors.Is(err, as.ErrBadEvent) }},
		{name: "RFC3903 §6 step 4: unsupported Event -> 489", req: as.PublishRequest{Event: "dialog", Body: pidfDoc(alice, "t", "open")},
			check: func(err error) bool { return errors.Is(err, as.ErrBadEvent) }},
		{name: "RFC3903 §6 step 1: domain not served -> 404", req: as.PublishRequest{Presentity: "sip:alice@elsewhere.net", Body: pidfDoc(alice, "t", "open")},
			check: func(err error) bool { return errors.Is(err, as.ErrNotServed) }},
		{name: "TS29.328: served domain, unknown user -> 404", req: as.PublishRequest{Presentity: "sip:carol@example.org", Body: pidfDoc(alice, "t", "open")},
			check: func(err error) bool { return errors.Is(err, as.ErrUnknownUser) }},
		{name: "RFC3903 §6 step 1: Request-URI not an AOR -> 400", req: as.PublishRequest{Presentity: "mailto:x@example.com", Body: pidfDoc(alice, "t", "open")},
			check: func(err error) bool { var br *as.BadRequestError; return errors.As(err, &br) }},
		{name: "RFC3903 §6 step 3: publisher not the presentity -> 403", req: as.PublishRequest{Publisher: bob, Body: pidfDoc(alice, "t", "open")},
			check: func(err error) bool { return errors.Is(err, as.ErrForbidden) }},
		{name: "RFC3903 §6 step 4: initial PUBLISH without body -> 400",
			check: func(err error) bool { var br *as.BadRequestError; return errors.As(err, &br) }},
		{name: "RFC3903 §6 step 5: Expires below minimum -> 423", req: as.PublishRequest{Expires: 10, Body: pidfDoc(alice, "t", "open")},
			check: func(err error) bool {
				var tb *as.IntervalTooBriefError
				return errors.As(err, &tb) && tb.Min == 60*time.Second
			}},
		{name: "RFC3903 §6 step 6: body not application/pidf+xml -> 415", req: as.PublishRequest{ContentType: "text/plain", Body: []byte("open")},
			check: func(err error) bool { return errors.Is(err, as.ErrUnsupportedMediaType) }},
		{name: "RFC3903 §6 step 6: malformed PIDF -> 400", req: as.PublishRequest{Body: []byte("<presence><tuple>")},
			check: func(err error) bool { var br *as.BadRequestError; return errors.As(err, &br) && br.Reason != "" }},
		{name: "RFC3863 §4.1.3: tuple without id -> 400", req: as.PublishRequest{Body: []byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple><status/></tuple></presence>`)},
			check: func(err error) bool { var br *as.BadRequestError; return errors.As(err, &br) }},
		{name: "RFC3903 §6 step 2: unknown SIP-If-Match -> 412", req: as.PublishRequest{IfMatch: "nope"},
			check: func(err error) bool { return errors.Is(err, as.ErrNoSuchETag) }},
		{name: "RFC3261 §21.4.11: body above presence.max_body_size -> 413", req: as.PublishRequest{Body: big},
			check: func(err error) bool { return errors.Is(err, as.ErrTooLarge) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := start(t, testConfig(), nil, nil)
				defer f.stop()
				if tc.req.Event == "-" {
					tc.req.Event = ""
					r := tc.req
					r.Presentity, r.Publisher, r.ContentType = alice, alice, pidfT
					_, err := f.a.Publish(context.Background(), r)
					if !tc.check(err) {
						t.Fatalf("got %v", err)
					}
					return
				}
				_, err := f.publish(tc.req)
				if err == nil || !tc.check(err) {
					t.Fatalf("got %v", err)
				}
				if n := f.st.Len(as.BucketPublications); n != 0 {
					t.Fatalf("%d publications stored after a rejected PUBLISH", n)
				}
			})
		})
	}
}

func TestDirectoryUnavailable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := start(t, testConfig(), nil, nil)
		defer f.stop()
		f.dir.Fail(&as.DirectoryUnavailableError{RetryAfter: time.Second, Err: errors.New("hss down")})
		_, err := f.publish(as.PublishRequest{Body: pidfDoc(alice, "t", "open")})
		var du *as.DirectoryUnavailableError
		if !errors.As(err, &du) {
			t.Fatalf("got %v", err)
		}
		_, err = f.a.Subscribe(context.Background(), subReq(alice, 600))
		if !errors.As(err, &du) {
			t.Fatalf("subscribe got %v", err)
		}
	})
}

func TestPublishLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := start(t, testConfig(), nil, nil)
		defer f.stop()

		// RFC 3903 §4.1: initial publication, default expiry.
		r1 := f.mustPublish(as.PublishRequest{Expires: -1, Body: pidfDoc(alice, "mobile", "open")})
		if r1.ETag == "" || r1.Expires != 3600*time.Second {
			t.Fatalf("initial: %+v", r1)
		}
		// RFC 3903 §4.2: refresh gives a new entity-tag; the old one is gone.
		r2 := f.mustPublish(as.PublishRequest{IfMatch: r1.ETag, Expires: 7200})
		if r2.ETag == "" || r2.ETag == r1.ETag || r2.Expires != 7200*time.Second {
			t.Fatalf("refresh: %+v", r2)
		}
		if _, err := f.publish(as.PublishRequest{IfMatch: r1.ETag}); !errors.Is(err, as.ErrNoSuchETag) {
			t.Fatalf("old etag after refresh: %v", err)
		}
		// RFC 3903 §6 step 5: above the maximum is cut down.
		r3 := f.mustPublish(as.PublishRequest{IfMatch: r2.ETag, Expires: 999999})
		if r3.Expires != 86400*time.Second {
			t.Fatalf("cut: %+v", r3)
		}
		// RFC 3903 §4.3: modify replaces the publication's state.
		sub, _ := f.subscribe(alice, 600)
		if !bytes.Contains(f.last(sub.Dialog.LocalTag).Body, []byte("open")) {
			t.Fatalf("first NOTIFY lacks the state: %s", f.last(sub.Dialog.LocalTag).Body)
		}
		r4 := f.mustPublish(as.PublishRequest{IfMatch: r3.ETag, Body: pidfDoc(alice, "mobile", "closed")})
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if b := f.last(sub.Dialog.LocalTag).Body; !bytes.Contains(b, []byte("closed")) || bytes.Contains(b, []byte("open")) {
			t.Fatalf("NOTIFY after modify: %s", b)
		}
		if f.st.Len(as.BucketPublications) != 1 {
			t.Fatalf("store holds %v", f.st.Keys(as.BucketPublications))
		}
		// RFC 3903 §4.4: remove.
		r5 := f.mustPublish(as.PublishRequest{IfMatch: r4.ETag, Expires: expZero})
		if r5.ETag != "" || r5.Expires != 0 {
			t.Fatalf("remove: %+v", r5)
		}
		if f.st.Len(as.BucketPublications) != 0 {
			t.Fatalf("store after remove: %v", f.st.Keys(as.BucketPublications))
		}
		if _, err := f.publish(as.PublishRequest{IfMatch: r4.ETag}); !errors.Is(err, as.ErrNoSuchETag) {
			t.Fatalf("etag after remove: %v", err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if b := f.last(sub.Dialog.LocalTag).Body; bytes.Contains(b, []byte("<tuple")) {
			t.Fatalf("NOTIFY after remove still has a tuple: %s", b)
		}
	})
}

func TestETagsUnique(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := start(t, testConfig(), nil, nil)
		defer f.stop()
		seen := map[string]bool{}
		for i := range 20 {
			r := f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, fmt.Sprint("t", i), "open")})
			if seen[r.ETag] || len(r.ETag) < 16 {
				t.Fatalf("etag %q repeated or short", r.ETag)
			}
			seen[r.ETag] = true
		}
	})
}

func TestPublicationExpiry(t *testing.T) {
	// RFC 3903 §4.1: soft state expires; the expiry notifies watchers and the entity-tag
	// then answers 412 (RFC 3903 §6 step 2).
	synctest.Test(t, func(t *testing.T) {
		f := start(t, testConfig(), nil, nil)
		defer f.stop()
		res := f.mustPublish(as.PublishRequest{Expires: 120, Body: pidfDoc(alice, "mobile", "open")})
		sub, _ := f.subscribe(alice, 3600)
		time.Sleep(119 * time.Second)
		synctest.Wait()
		if f.st.Len(as.BucketPublications) != 1 {
			t.Fatal("publication gone before its time")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if f.st.Len(as.BucketPublications) != 0 {
			t.Fatal("publication still stored after expiry")
		}
		ns := f.n.For(sub.Dialog.LocalTag)
		if len(ns) != 2 || bytes.Contains(ns[1].Body, []byte("<tuple")) || ns[1].State != as.StateActive {
			t.Fatalf("NOTIFYs after expiry: %+v", ns)
		}
		if _, err := f.publish(as.PublishRequest{IfMatch: res.ETag}); !errors.Is(err, as.ErrNoSuchETag) {
			t.Fatalf("expired etag: %v", err)
		}
	})
}

func TestPublishStoreFailureLeavesNoState(t *testing.T) {
	// RFC 3903 §6: processing is atomic; an internal failure answers 500 with no partial state.
	synctest.Test(t, func(t *testing.T) {
		f := start(t, testConfig(), nil, nil)
		defer f.stop()
		res := f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "a", "open")})
		sub, _ := f.subscribe(alice, 600)
		f.st.FailUpdates(errors.New("disk full"))
		if _, err := f.publish(as.PublishRequest{IfMatch: res.ETag, Body: pidfDoc(alice, "a", "closed")}); err == nil {
			t.Fatal("modify succeeded with a failing store")
		}
		if _, err := f.publish(as.PublishRequest{Body: pidfDoc(alice, "b", "closed")}); err == nil {
			t.Fatal("initial succeeded with a failing store")
		}
		f.st.FailUpdates(nil)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := len(f.n.For(sub.Dialog.LocalTag)); n != 1 {
			t.Fatalf("%d NOTIFYs: a failed PUBLISH changed state", n)
		}
		// the old entity-tag still works: nothing was half-applied
		f.mustPublish(as.PublishRequest{IfMatch: res.ETag})
	})
}

func TestAliasesShareState(t *testing.T) {
	// TS 29.328 implicit set: tel:+15550100 and sip:alice share one presentity.
	synctest.Test(t, func(t *testing.T) {
		f := start(t, testConfig(), nil, nil)
		defer f.stop()
		f.mustPublish(as.PublishRequest{Presentity: "tel:+1-555-0100", Publisher: "tel:+15550100", Body: pidfDoc(alice, "phone", "open")})
		sub, _ := f.subscribe("sip:alice@EXAMPLE.com;user=phone", 600)
		if b := f.last(sub.Dialog.LocalTag).Body; !bytes.Contains(b, []byte(`id="phone"`)) {
			t.Fatalf("alias state not composed: %s", b)
		}
	})
}

func TestPublishAuthorization(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.PublishAs = map[string][]string{"sip:pua@example.com": {alice}}
		f := start(t, cfg, nil, nil)
		defer f.stop()
		// RFC 3903 §6 step 3: a configured third party may publish
		f.mustPublish(as.PublishRequest{Publisher: "sip:pua@example.com", Body: pidfDoc(alice, "x", "open")})
		// an alias of the presentity may publish
		f.mustPublish(as.PublishRequest{Publisher: "tel:+15550100", Body: pidfDoc(alice, "y", "open")})
		// but not for someone else
		if _, err := f.publish(as.PublishRequest{Presentity: bob, Publisher: "sip:pua@example.com", Body: pidfDoc(bob, "x", "open")}); !errors.Is(err, as.ErrForbidden) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestMaxPublications(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxPublications = 2
		f := start(t, cfg, nil, nil)
		defer f.stop()
		f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "a", "open")})
		f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "b", "open")})
		if _, err := f.publish(as.PublishRequest{Body: pidfDoc(alice, "c", "open")}); !errors.Is(err, as.ErrOverloaded) {
			t.Fatalf("got %v", err)
		}
	})
}
