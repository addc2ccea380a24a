package as_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/as/astest"
)

func TestSubscribeErrors(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*as.SubscribeRequest)
		check func(error) bool
	}{
		{"RFC6665 §8.2.4: unknown Event -> 489", func(r *as.SubscribeRequest) { r.Event = "reg" },
			func(err error) bool { return errors.Is(err, as.ErrBadEvent) }},
		{"RFC6665 §8.2.4: missing Event -> 489", func(r *as.SubscribeRequest) { r.Event = "" },
			func(err error) bool { return errors.Is(err, as.ErrBadEvent) }},
		{"RFC3856 §6.8: Accept without application/pidf+xml -> 406", func(r *as.SubscribeRequest) { r.Accept = []string{"application/xpidf+xml"} },
			func(err error) bool { return errors.Is(err, as.ErrNotAcceptable) }},
		{"RFC6665 §4.2.1.1: Expires below minimum -> 423", func(r *as.SubscribeRequest) { r.Expires = 5 },
			func(err error) bool {
				var tb *as.IntervalTooBriefError
				return errors.As(err, &tb) && tb.Min == time.Minute
			}},
		{"RFC3856 §6.4: resource in another domain -> 404", func(r *as.SubscribeRequest) { r.Resource = "sip:alice@elsewhere.net" },
			func(err error) bool { return errors.Is(err, as.ErrNotServed) }},
		{"RFC3856 §6.4: unknown user -> 404", func(r *as.SubscribeRequest) { r.Resource = "sip:nobody@example.org" },
			func(err error) bool { return errors.Is(err, as.ErrUnknownUser) }},
		{"RFC6665 §4.1.2.2: in-dialog SUBSCRIBE matching nothing -> 481", func(r *as.SubscribeRequest) { r.Dialog.LocalTag = "nosuch" },
			func(err error) bool { return errors.Is(err, as.ErrNoSuchSubscription) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := start(t, testConfig(), nil, nil)
				defer f.stop()
				r := subReq(alice, 600)
				tc.edit(&r)
				_, err := f.a.Subscribe(context.Background(), r)
				if !tc.check(err) {
					t.Fatalf("got %v", err)
				}
				if n := f.st.Len(as.BucketSubscriptions); n != 0 {
					t.Fatalf("%d subscriptions stored", n)
				}
			})
		})
	}
}

func TestAcceptWildcards(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := start(t, testConfig(), nil, nil)
		defer f.stop()
		for _, acc := range [][]string{nil, {"application/pidf+xml"}, {"text/plain", "application/*"}, {"*/*"}} {
			r := subReq(alice, 0)
			r.Accept = acc
			if _, err := f.a.Subscribe(context.Background(), r); err != nil {
				t.Fatalf("Accept %v: %v", acc, err)
			}
		}
	})
}

func TestSubscriptionLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := start(t, testConfig(), nil, nil)
		defer f.stop()
		f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "mobile", "open")})

		// RFC 6665 §4.2.1.1 / §4.2.2: the 200 first, then an immediate NOTIFY with full state.
		r := subReq(alice, 600)
		res, err := f.a.Subscribe(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if res.LocalTag == "" || res.Expires != 600*time.Second || res.Activate == nil {
			t.Fatalf("result %+v", res)
		}
		synctest.Wait()
		if n := len(f.n.Sent()); n != 0 {
			t.Fatalf("%d NOTIFYs before Activate", n)
		}
		if f.st.Len(as.BucketSubscriptions) != 1 {
			t.Fatal("subscription not stored before the 200")
		}
		res.Activate()
		res.Activate() // idempotent
		synctest.Wait()
		ns := f.n.For(res.LocalTag)
		if len(ns) != 1 {
			t.Fatalf("%d NOTIFYs after Activate", len(ns))
		}
		n := ns[0]
		if n.CSeq != 1 || n.State != as.StateActive || n.Expires != 600*time.Second || n.Event != "presence" ||
			n.ContentType != pidfT || !bytes.Contains(n.Body, []byte(`id="mobile"`)) {
			t.Fatalf("first NOTIFY %+v", n)
		}
		if n.Dialog.CallID != r.Dialog.CallID || n.Dialog.RemoteTag != "wt" || n.Dialog.LocalTag != res.LocalTag ||
			len(n.Dialog.RouteSet) != 1 || n.ChargingVector != "icid-value=1" {
			t.Fatalf("dialog %+v", n.Dialog)
		}

		// RFC 6665 §4.2.1.2: refresh, with a new remote target; NOTIFY follows.
		r.Dialog.LocalTag = res.LocalTag
		r.Dialog.RemoteTarget = "sip:bob@127.0.0.1:5080"
		r.Expires = 1200
		time.Sleep(10 * time.Second)
		res2, err := f.a.Subscribe(context.Background(), r)
		if err != nil || res2.Expires != 1200*time.Second || res2.LocalTag != res.LocalTag {
			t.Fatalf("refresh %+v %v", res2, err)
		}
		res2.Activate()
		synctest.Wait()
		n = f.last(res.LocalTag)
		if n.CSeq != 2 || n.State != as.StateActive || n.Expires != 1200*time.Second || n.Dialog.RemoteTarget != "sip:bob@127.0.0.1:5080" {
			t.Fatalf("NOTIFY after refresh %+v", n)
		}

		// RFC 6665 §4.2.1.4: unsubscribe -> final NOTIFY terminated.
		r.Expires = 0
		time.Sleep(10 * time.Second)
		res3, err := f.a.Subscribe(context.Background(), r)
		if err != nil || res3.Expires != 0 {
			t.Fatalf("unsubscribe %+v %v", res3, err)
		}
		if f.st.Len(as.BucketSubscriptions) != 0 {
			t.Fatal("subscription still stored after unsubscribe")
		}
		synctest.Wait()
		if got := len(f.n.For(res.LocalTag)); got != 2 {
			t.Fatalf("final NOTIFY sent before Activate (%d)", got)
		}
		res3.Activate()
		synctest.Wait()
		n = f.last(res.LocalTag)
		if n.CSeq != 3 || n.State != as.StateTerminated {
			t.Fatalf("final NOTIFY %+v", n)
		}
		// RFC 6665 §4.1.2.2: the dialog is gone -> 481.
		r.Expires = 600
		if _, err := f.a.Subscribe(context.Background(), r); !errors.Is(err, as.ErrNoSuchSubscription) {
			t.Fatalf("after unsubscribe: %v", err)
		}
		// and a later change sends nothing more
		f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "desk", "open")})
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := len(f.n.For(res.LocalTag)); got != 3 {
			t.Fatalf("%d NOTIFYs after the subscription ended", got)
		}
	})
}

func TestInDialogMismatch(t *testing.T) {
	// RFC 3261 §12.2.2: a request matches a dialog by Call-ID and both tags; RFC 6665 §4.1.2.2: 481 otherwise.
	synctest.Test(t, func(t *testing.T) {
		f := start(t, testConfig(), nil, nil)
		defer f.stop()
		r, _ := f.subscribe(alice, 600)
		for name, edit := range map[string]func(*as.SubscribeRequest){
			"call-id":    func(r *as.SubscribeRequest) { r.Dialog.CallID = "other" },
			"remote tag": func(r *as.SubscribeRequest) { r.Dialog.RemoteTag = "other" },
			"event id":   func(r *as.SubscribeRequest) { r.EventID = "7" },
		} {
			x := r
			edit(&x)
			if _, err := f.a.Subscribe(context.Background(), x); !errors.Is(err, as.ErrNoSuchSubscription) {
				t.Fatalf("%s mismatch: %v", name, err)
			}
		}
	})
}

func TestFetch(t *testing.T) {
	// RFC 6665 §4.4.3: initial SUBSCRIBE with Expires 0 -> one NOTIFY, nothing kept.
	synctest.Test(t, func(t *testing.T) {
		f := start(t, testConfig(), nil, nil)
		defer f.stop()
		f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "mobile", "open")})
		r := subReq(alice, 0)
		res, err := f.a.Subscribe(context.Background(), r)
		if err != nil || res.Expires != 0 || res.LocalTag == "" {
			t.Fatalf("fetch %+v %v", res, err)
		}
		if f.st.Len(as.BucketSubscriptions) != 0 {
			t.Fatal("fetch stored a subscription")
		}
		res.Activate()
		synctest.Wait()
		ns := f.n.For(res.LocalTag)
		if len(ns) != 1 || ns[0].State != as.StateTerminated || ns[0].Reason != "timeout" || ns[0].CSeq != 1 ||
			!bytes.Contains(ns[0].Body, []byte(`id="mobile"`)) {
			t.Fatalf("fetch NOTIFY %+v", ns)
		}
		r.Dialog.LocalTag = res.LocalTag
		if _, err := f.a.Subscribe(context.Background(), r); !errors.Is(err, as.ErrNoSuchSubscription) {
			t.Fatalf("refresh after fetch: %v", err)
		}
	})
}

func TestSubscriptionExpiry(t *testing.T) {
	// RFC 6665 §4.2.2: when a subscription expires the notifier sends NOTIFY terminated;reason=timeout.
	synctest.Test(t, func(t *testing.T) {
		f := start(t, testConfig(), nil, nil)
		defer f.stop()
		r, _ := f.subscribe(alice, 300)
		time.Sleep(299 * time.Second)
		synctest.Wait()
		if got := len(f.n.For(r.Dialog.LocalTag)); got != 1 {
			t.Fatalf("%d NOTIFYs before expiry", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		n := f.last(r.Dialog.LocalTag)
		if n.State != as.StateTerminated || n.Reason != "timeout" || n.CSeq != 2 {
			t.Fatalf("expiry NOTIFY %+v", n)
		}
		if f.st.Len(as.BucketSubscriptions) != 0 {
			t.Fatal("expired subscription still stored")
		}
		if _, err := f.a.Subscribe(context.Background(), r); !errors.Is(err, as.ErrNoSuchSubscription) {
			t.Fatalf("refresh after expiry: %v", err)
		}
	})
}

func TestNotifyAnswered481RemovesSubscription(t *testing.T) {
	// RFC 6665 §4.1.3: a 481 to NOTIFY ends the subscription.
	synctest.Test(t, func(t *testing.T) {
		n := astest.NewNotifier(64)
		f := start(t, testConfig(), nil, n)
		defer f.stop()
		r, _ := f.subscribe(alice, 600)
		n.Respond = func(as.Notification) error { return fmt.Errorf("481: %w", as.ErrNoSuchSubscription) }
		f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "m", "open")})
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if f.st.Len(as.BucketSubscriptions) != 0 {
			t.Fatal("subscription kept after 481")
		}
		if _, err := f.a.Subscribe(context.Background(), r); !errors.Is(err, as.ErrNoSuchSubscription) {
			t.Fatalf("refresh after 481: %v", err)
		}
	})
}

func TestNotifyTimeoutPolicy(t *testing.T) {
	for _, policy := range []string{as.PolicyKeep, as.PolicyTerminate} {
		t.Run("RFC6665 §4.2.2 NOTIFY timeout, policy "+policy, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.NotifyTimeoutPolicy = policy
				n := astest.NewNotifier(64)
				f := start(t, cfg, nil, n)
				defer f.stop()
				r, _ := f.subscribe(alice, 600)
				n.Respond = func(as.Notification) error { return as.ErrNotifyTimeout }
				f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "m", "open")})
				time.Sleep(2 * time.Second)
				synctest.Wait()
				kept := f.st.Len(as.BucketSubscriptions) == 1
				if kept != (policy == as.PolicyKeep) {
					t.Fatalf("policy %s: kept=%v", policy, kept)
				}
				if policy == as.PolicyKeep {
					// retried on the next change, with the latest state
					n.Respond = nil
					f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "d", "closed")})
					time.Sleep(2 * time.Second)
					synctest.Wait()
					last := f.last(r.Dialog.LocalTag)
					if last.CSeq != 3 || !bytes.Contains(last.Body, []byte(`id="d"`)) || !bytes.Contains(last.Body, []byte(`id="m"`)) {
						t.Fatalf("retry NOTIFY %+v", last)
					}
				}
			})
		})
	}
}

func TestRateShaping(t *testing.T) {
	// RFC 6665 §4.2.2 / RFC 3903 §6 (throttling): at most one NOTIFY per notify_interval,
	// changes coalesced, the first NOTIFY immediate.
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.NotifyInterval = 5 * time.Second
		f := start(t, cfg, nil, nil)
		defer f.stop()
		r, _ := f.subscribe(alice, 600)
		start := time.Now()
		for i := range 5 {
			f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, fmt.Sprint("t", i), "open")})
			time.Sleep(100 * time.Millisecond)
		}
		synctest.Wait()
		if got := len(f.n.For(r.Dialog.LocalTag)); got != 1 {
			t.Fatalf("%d NOTIFYs within the interval", got)
		}
		time.Sleep(5*time.Second - time.Since(start))
		synctest.Wait()
		ns := f.n.For(r.Dialog.LocalTag)
		if len(ns) != 2 || !bytes.Contains(ns[1].Body, []byte(`id="t4"`)) || !bytes.Contains(ns[1].Body, []byte(`id="t0"`)) {
			t.Fatalf("coalesced NOTIFYs: %d", len(ns))
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if got := len(f.n.For(r.Dialog.LocalTag)); got != 2 {
			t.Fatalf("%d NOTIFYs without changes", got)
		}
	})
}

func TestMaxWatchers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxWatchers = 2
		f := start(t, cfg, nil, nil)
		defer f.stop()
		f.subscribe(alice, 600)
		f.subscribe(alice, 600)
		if _, err := f.a.Subscribe(context.Background(), subReq(alice, 600)); !errors.Is(err, as.ErrOverloaded) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestHardState(t *testing.T) {
	// RFC 4827: the pidf-manipulation document composes with the soft state.
	synctest.Test(t, func(t *testing.T) {
		st := astest.NewStore()
		f := start(t, testConfig(), st, nil)
		r, _ := f.subscribe(alice, 3600)
		if err := f.a.SetHardState(context.Background(), alice, pidfDoc(alice, "hard", "closed")); err != nil {
			t.Fatal(err)
		}
		f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "soft", "open")})
		time.Sleep(2 * time.Second)
		synctest.Wait()
		b := f.last(r.Dialog.LocalTag).Body
		if !bytes.Contains(b, []byte(`id="hard"`)) || !bytes.Contains(b, []byte(`id="soft"`)) {
			t.Fatalf("composed: %s", b)
		}
		var br *as.BadRequestError
		if err := f.a.SetHardState(context.Background(), alice, []byte("<nope")); !errors.As(err, &br) {
			t.Fatalf("malformed hard state: %v", err)
		}
		f.stop()

		// survives a restart
		f2 := start(t, testConfig(), st, nil)
		defer f2.stop()
		f2.mustPublish(as.PublishRequest{Presentity: alice, Body: pidfDoc(alice, "x", "open")})
		time.Sleep(time.Minute)
		synctest.Wait()
		if b := f2.last(r.Dialog.LocalTag).Body; !bytes.Contains(b, []byte(`id="hard"`)) {
			t.Fatalf("hard state lost in restart: %s", b)
		}
		if err := f2.a.SetHardState(context.Background(), alice, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if b := f2.last(r.Dialog.LocalTag).Body; bytes.Contains(b, []byte(`id="hard"`)) {
			t.Fatalf("hard state not cleared: %s", b)
		}
	})
}

func TestDeregistration(t *testing.T) {
	for _, policy := range []string{as.PolicyRemove, as.PolicyKeep} {
		t.Run("TS29.328 NOT_REGISTERED, on_deregistration "+policy, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.OnDeregistration = policy
				f := start(t, cfg, nil, nil)
				defer f.stop()
				f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "m", "open")})
				r, _ := f.subscribe(alice, 600)
				time.Sleep(2 * time.Second)
				f.a.UserStateChanged(context.Background(), "tel:+15550100", as.Registered)
				f.a.UserStateChanged(context.Background(), "tel:+15550100", as.NotRegistered)
				synctest.Wait()
				gone := f.st.Len(as.BucketPublications) == 0
				if gone != (policy == as.PolicyRemove) {
					t.Fatalf("policy %s: publications gone=%v", policy, gone)
				}
				if policy == as.PolicyRemove {
					if b := f.last(r.Dialog.LocalTag).Body; bytes.Contains(b, []byte("<tuple")) {
						t.Fatalf("watchers not told: %s", b)
					}
					if f.st.Len(as.BucketSubscriptions) != 1 {
						t.Fatal("deregistration removed the subscription")
					}
				}
			})
		})
	}
}

func TestRestartKeepsDialogs(t *testing.T) {
	// Restart: publications and subscriptions survive; the watcher gets NOTIFYs in its
	// original dialog with a higher CSeq (RFC 3261 §12.2.1.1), spread over restart_spread.
	synctest.Test(t, func(t *testing.T) {
		st := astest.NewStore()
		cfg := testConfig()
		cfg.NotifyInterval = 0
		cfg.RestartSpread = 20 * time.Second
		f := start(t, cfg, st, nil)
		pub := f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "m", "open")})
		var dialogs []as.SubscribeRequest
		for range 10 {
			r, _ := f.subscribe(alice, 3600)
			dialogs = append(dialogs, r)
		}
		// push one dialog past a CSeq reservation block
		for i := range 130 {
			pub = f.mustPublish(as.PublishRequest{IfMatch: pub.ETag, Body: pidfDoc(alice, "m", []string{"open", "closed"}[i%2])})
			pub.ETag = f.mustPublish(as.PublishRequest{IfMatch: pub.ETag}).ETag
			synctest.Wait()
		}
		maxBefore := map[string]uint32{}
		for _, n := range f.n.Sent() {
			maxBefore[n.Dialog.LocalTag] = max(maxBefore[n.Dialog.LocalTag], n.CSeq)
		}
		if maxBefore[dialogs[0].Dialog.LocalTag] < 130 {
			t.Fatalf("only %d NOTIFYs before restart", maxBefore[dialogs[0].Dialog.LocalTag])
		}
		f.stop()

		n2 := astest.NewNotifier(1024)
		var mu sync.Mutex
		var times []time.Time
		n2.Respond = func(as.Notification) error {
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
			return nil
		}
		restarted := time.Now()
		f2 := start(t, cfg, st, n2)
		defer f2.stop()
		time.Sleep(cfg.RestartSpread + time.Second)
		synctest.Wait()
		for _, d := range dialogs {
			ns := n2.For(d.Dialog.LocalTag)
			if len(ns) != 1 {
				t.Fatalf("dialog %s: %d NOTIFYs after restart", d.Dialog.LocalTag, len(ns))
			}
			n := ns[0]
			if n.CSeq <= maxBefore[d.Dialog.LocalTag] || n.Dialog.CallID != d.Dialog.CallID || n.State != as.StateActive ||
				!bytes.Contains(n.Body, []byte(`id="m"`)) {
				t.Fatalf("NOTIFY after restart %+v (CSeq before %d)", n, maxBefore[d.Dialog.LocalTag])
			}
		}
		if last := times[len(times)-1].Sub(restarted); last < cfg.RestartSpread/2 {
			t.Fatalf("NOTIFYs after restart not spread: last at %v", last)
		}
		if first := times[0].Sub(restarted); first > time.Second {
			t.Fatalf("first NOTIFY after restart at %v", first)
		}
		// the publication is still addressable by its entity-tag
		f2.mustPublish(as.PublishRequest{IfMatch: pub.ETag})
		// and a change reaches the watchers in their dialogs, CSeq still rising
		f2.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "desk", "open")})
		synctest.Wait()
		for _, d := range dialogs {
			ns := n2.For(d.Dialog.LocalTag)
			if len(ns) != 2 || ns[1].CSeq != ns[0].CSeq+1 || !bytes.Contains(ns[1].Body, []byte(`id="desk"`)) {
				t.Fatalf("dialog %s after change: %+v", d.Dialog.LocalTag, ns)
			}
		}
		// refresh in the old dialog works
		r := dialogs[0]
		r.Expires = 600
		if _, err := f2.a.Subscribe(context.Background(), r); err != nil {
			t.Fatalf("refresh after restart: %v", err)
		}
	})
}

func TestRestartExpiresStaleState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := astest.NewStore()
		f := start(t, testConfig(), st, nil)
		f.mustPublish(as.PublishRequest{Expires: 120, Body: pidfDoc(alice, "m", "open")})
		r, _ := f.subscribe(alice, 120)
		f.stop()
		time.Sleep(10 * time.Minute) // down longer than both lifetimes
		f2 := start(t, testConfig(), st, nil)
		defer f2.stop()
		time.Sleep(time.Minute)
		synctest.Wait()
		if st.Len(as.BucketPublications) != 0 || st.Len(as.BucketSubscriptions) != 0 {
			t.Fatalf("stale state kept: %v %v", st.Keys(as.BucketPublications), st.Keys(as.BucketSubscriptions))
		}
		ns := f2.n.For(r.Dialog.LocalTag)
		if len(ns) != 1 || ns[0].State != as.StateTerminated || ns[0].Reason != "timeout" || ns[0].CSeq <= 1 {
			t.Fatalf("final NOTIFY after restart: %+v", ns)
		}
	})
}

func TestPackages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := start(t, testConfig(), nil, nil)
		defer f.stop()
		if got := f.a.Packages(); len(got) != 1 || got[0] != "presence" {
			t.Fatalf("Packages() = %v", got)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	if err := as.DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name string
		edit func(*as.Config)
		key  string
	}{
		{"no domains", func(c *as.Config) { c.Domains = nil }, "presence.domains"},
		{"bad domain", func(c *as.Config) { c.Domains = []string{"example.com", "bad domain"} }, "presence.domains[1]"},
		{"min_expires zero", func(c *as.Config) { c.MinExpires = 0 }, "presence.min_expires"},
		{"max below min", func(c *as.Config) { c.MaxExpires = time.Second }, "presence.max_expires"},
		{"default outside range", func(c *as.Config) { c.DefaultExpires = 10 * time.Second }, "presence.default_expires"},
		{"policy", func(c *as.Config) { c.NotifyTimeoutPolicy = "drop" }, "presence.notify_timeout_policy"},
		{"dereg policy", func(c *as.Config) { c.OnDeregistration = "forget" }, "presence.on_deregistration"},
		{"publish_as key", func(c *as.Config) { c.PublishAs = map[string][]string{"nope": nil} }, `presence.publish_as["nope"]`},
		{"publish_as value", func(c *as.Config) { c.PublishAs = map[string][]string{alice: {"x"}} }, `presence.publish_as["sip:alice@example.com"][0]`},
		{"max_watchers", func(c *as.Config) { c.MaxWatchers = 0 }, "presence.max_watchers"},
		{"notify_queue", func(c *as.Config) { c.NotifyQueue = -1 }, "presence.notify_queue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := as.DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.key+":") {
				t.Fatalf("Validate() = %v, want key %s", err, tc.key)
			}
		})
	}
}
