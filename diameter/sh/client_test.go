package sh

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/hss"
	"github.com/imsps/imsps/diameter/peer"
)

func TestLookup(t *testing.T) {
	_, addr := startHSS(t, nil)
	cnt := newCounter()
	c := startClient(t, testConfig(addr), 1, WithTap(cnt.tap))
	tests := []struct {
		name    string
		impu    as.AOR
		want    as.Subscriber
		wantErr error
	}{
		{"TS29.328 §7.6.1 IMSPublicIdentity: alias resolves to the first SIP URI", "tel:+15550100",
			as.Subscriber{Presentity: "sip:alice@example.com", Identities: []as.AOR{"sip:alice@example.com", "tel:+15550100"}, State: as.Registered}, nil},
		{"TS29.328 §7.6.1: the SIP URI itself", "sip:alice@example.com",
			as.Subscriber{Presentity: "sip:alice@example.com", Identities: []as.AOR{"sip:alice@example.com", "tel:+15550100"}, State: as.Registered}, nil},
		{"open provisioning: any identity of example.com", "sip:carol@example.com",
			as.Subscriber{Presentity: "sip:carol@example.com", Identities: []as.AOR{"sip:carol@example.com"}, State: as.Registered}, nil},
		{"TS29.329 §6.2.2.1: DIAMETER_ERROR_USER_UNKNOWN is as.ErrUnknownUser", "sip:nobody@other.net", as.Subscriber{}, as.ErrUnknownUser},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Lookup(t.Context(), tc.impu)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && (got.Presentity != tc.want.Presentity || !slices.Equal(got.Identities, tc.want.Identities) || got.State != tc.want.State) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	// alice was fetched once (by her alias) and then served from the cache.
	if n := cnt.sent(dict.UserData); n != 3 {
		t.Fatalf("UDRs sent = %d, want 3 (alice once, carol, nobody)", n)
	}
}

func TestUserDataReferences(t *testing.T) {
	_, addr := startHSS(t, nil)
	c := startClient(t, testConfig(addr), 1)
	d, err := c.UserData(t.Context(), "sip:alice@example.com", dict.SCSCFName, dict.MSISDN, dict.IMSUserState)
	if err != nil {
		t.Fatal(err)
	}
	if d.IMSData == nil || d.IMSData.SCSCFName != "sip:scscf.example.com" || *d.IMSData.IMSUserState != as.Registered {
		t.Fatalf("Sh-IMS-Data = %+v", d.IMSData)
	}
	if d.PublicIdentifiers == nil || !slices.Equal(d.PublicIdentifiers.MSISDN, []string{"15550100"}) {
		t.Fatalf("MSISDN = %+v", d.PublicIdentifiers)
	}
}

func TestRepositoryData(t *testing.T) {
	h, addr := startHSS(t, func(c *hss.Config) { c.MaxRepositoryData = 64 })
	c := startClient(t, testConfig(addr), 1)
	ctx := t.Context()
	const u = as.AOR("sip:alice@example.com")
	for i, want := range []uint32{0, 1, 2} { // TS 29.328 §6.1.2.1: create with 0, then +1
		seq, err := c.UpdateRepository(ctx, u, fmt.Appendf(nil, "<v>%d</v>", i))
		if err != nil || seq != want {
			t.Fatalf("update %d: seq %d err %v, want %d", i, seq, err, want)
		}
	}
	r, ok, err := c.Repository(ctx, u)
	if err != nil || !ok || r.SequenceNumber != 2 || string(r.ServiceData) != "<v>2</v>" {
		t.Fatalf("read back: %+v %v %v", r, ok, err)
	}

	t.Run("TS29.328 §6.1.2.1: stale SequenceNumber gets 5105", func(t *testing.T) {
		err := c.profileUpdate(ctx, u, RepositoryData{ServiceIndication: c.cfg.ServiceIndication, SequenceNumber: 2, ServiceData: []byte("<x/>")})
		if !errors.Is(err, ErrOutOfSync) || !errors.Is(err, peer.Experimental(dict.ErrorTransparentDataOutOfSync)) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("TS29.328 §6.1.2.1: 5105 re-reads and retries once", func(t *testing.T) {
		other := startClient(t, testConfig(addr), 1)
		once := sync.Once{}
		c.beforePUR = func() {
			once.Do(func() {
				if _, err := other.UpdateRepository(ctx, u, []byte("<other/>")); err != nil {
					t.Error(err)
				}
			})
		}
		defer func() { c.beforePUR = nil }()
		seq, err := c.UpdateRepository(ctx, u, []byte("<mine/>"))
		if err != nil || seq != 4 {
			t.Fatalf("seq %d err %v, want 4", seq, err)
		}
	})
	t.Run("TS29.329 §6.2.1.2: DIAMETER_PRIOR_UPDATE_IN_PROGRESS is transient", func(t *testing.T) {
		unlock, err := h.LockRepository(u, c.cfg.ServiceIndication)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		_, err = c.UpdateRepository(ctx, u, []byte("<x/>"))
		if !errors.Is(err, ErrTransient) || !errors.Is(err, peer.Experimental(dict.PriorUpdateInProgress)) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("TS29.229 §6.2.2.7: DIAMETER_ERROR_TOO_MUCH_DATA", func(t *testing.T) {
		_, err := c.UpdateRepository(ctx, u, []byte("<big>"+strings.Repeat("a", 100)+"</big>"))
		if !errors.Is(err, ErrRejected) || !errors.Is(err, peer.Experimental(dict.ErrorTooMuchData)) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("TS29.328 §6.1.2.1: PUR without ServiceData deletes", func(t *testing.T) {
		if _, err := c.UpdateRepository(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := c.Repository(ctx, u); ok || err != nil {
			t.Fatalf("still there: %v %v", ok, err)
		}
	})
	t.Run("TS29.329 §6.2.2: DIAMETER_ERROR_SUBS_DATA_ABSENT", func(t *testing.T) {
		_, err := c.Subscribe(ctx, u, dict.RepositoryData)
		if !errors.Is(err, ErrNoData) || !errors.Is(err, peer.Experimental(dict.ErrorSubsDataAbsent)) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestNextSequence(t *testing.T) {
	for _, tc := range []struct{ in, want uint32 }{{0, 1}, {1, 2}, {65534, 65535}, {65535, 1}} {
		if got := NextSequence(tc.in); got != tc.want {
			t.Errorf("TS29.328 §6.1.2.1: NextSequence(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// Every Experimental-Result the simulator can send reaches the client as a typed error.
func TestExperimentalResults(t *testing.T) {
	h, addr := startHSS(t, nil)
	c := startClient(t, testConfig(addr), 1)
	ui := func(pub string, msisdn []byte) *diam.AVP {
		var in []*diam.AVP
		if pub != "" {
			in = append(in, peer.Vendor3GPP(dict.AVPPublicIdentity, true, datatype.UTF8String(pub)))
		}
		if msisdn != nil {
			in = append(in, peer.Vendor3GPP(dict.AVPMSISDN, true, datatype.OctetString(msisdn)))
		}
		return peer.Vendor3GPP(dict.AVPUserIdentity, true, &diam.GroupedAVP{AVP: in})
	}
	alice := as.AOR("sip:alice@example.com")
	aliceTBCD := []byte{0x51, 0x55, 0x10, 0x00} // 15550100
	pur := func(refs []dict.DataReference, data []byte) *diam.Message {
		m := c.newRequest(dict.ProfileUpdate, alice)
		for _, r := range refs {
			m.AddAVP(dataRef(r))
		}
		m.AddAVP(peer.Vendor3GPP(dict.AVPUserData, true, datatype.OctetString(data)))
		return m
	}
	snr := func(ref dict.DataReference) *diam.Message {
		m := c.newRequest(dict.SubscribeNotifications, alice)
		m.AddAVP(peer.Vendor3GPP(dict.AVPSubsReqType, true, datatype.Enumerated(dict.Subscribe)))
		m.AddAVP(dataRef(ref))
		return m
	}
	repo := (&Data{RepositoryData: []RepositoryData{{ServiceIndication: "X", SequenceNumber: 0, ServiceData: []byte("<a/>")}}}).Marshal()
	tests := []struct {
		name string
		req  *diam.Message
		want dict.ExperimentalResult
		kind error
	}{
		{"5001 user unknown", rawUDR(c, ui("sip:ghost@nowhere.net", nil), dict.IMSUserState), dict.ErrorUserUnknown, as.ErrUnknownUser},
		{"5002 identities don't match", rawUDR(c, ui("sip:bob@example.com", aliceTBCD), dict.IMSUserState), dict.ErrorIdentitiesDontMatch, ErrNotAllowed},
		{"5101 IMSUserState by MSISDN not allowed", rawUDR(c, ui("", aliceTBCD), dict.IMSUserState), dict.ErrorOperationNotAllowed, ErrNotAllowed},
		{"5102 data cannot be read", rawUDR(c, ui(string(alice), nil), dict.LocationInformation), dict.ErrorUserDataCannotBeRead, ErrNotAllowed},
		{"5108 DSAI not available", rawUDR(c, ui(string(alice), nil), dict.DSAI), dict.ErrorDSAINotAvailable, ErrRejected},
		{"5103 data cannot be modified", pur([]dict.DataReference{dict.IMSUserState}, repo), dict.ErrorUserDataCannotBeModified, ErrNotAllowed},
		{"5011 feature unsupported (two Data-References)", pur([]dict.DataReference{dict.RepositoryData, dict.RepositoryData}, repo), dict.ErrorFeatureUnsupported, ErrRejected},
		{"5100 user data not recognized", pur([]dict.DataReference{dict.RepositoryData}, []byte("not xml")), dict.ErrorUserDataNotRecognized, ErrRejected},
		{"5104 data cannot be notified", snr(dict.MSISDN), dict.ErrorUserDataCannotBeNotified, ErrNotAllowed},
	}
	for _, tc := range tests {
		t.Run("TS29.329 §6.2: "+tc.name, func(t *testing.T) {
			_, err := c.do(t.Context(), tc.req)
			if !errors.Is(err, peer.Experimental(tc.want)) || !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v / %v", err, tc.want, tc.kind)
			}
		})
	}
	t.Run("TS29.329 §6.2.1.1: 4100 user data not available makes the directory unavailable", func(t *testing.T) {
		if err := h.SetUnavailable("sip:dave@example.com", true); err != nil {
			t.Fatal(err)
		}
		_, err := c.Lookup(t.Context(), "sip:dave@example.com")
		var u *as.DirectoryUnavailableError
		if !errors.As(err, &u) || u.RetryAfter != c.cfg.RetryAfter || !errors.Is(err, peer.Experimental(dict.UserDataNotAvailable)) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("RFC6733 §7.1.5: 5005 missing AVP from a strict HSS", func(t *testing.T) {
		m := c.newRequest(dict.UserData, alice) // no Data-Reference
		_, err := c.do(t.Context(), m)
		if !errors.Is(err, peer.Result(dict.MissingAVP, "")) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("RFC6733 §7.1.3: 3003 realm not served", func(t *testing.T) {
		dflt := testConfig(addr)
		dflt.Peers[0].Realm = "" // a default route, so the request reaches the HSS
		c := startClient(t, dflt, 1)
		m := rawUDR(c, ui(string(alice), nil), dict.IMSUserState)
		m.DeleteAVP(dict.AVPDestinationRealm, 0)
		m.AddAVP(peer.Base(dict.AVPDestinationRealm, datatype.DiameterIdentity("other.net")))
		if _, err := c.do(t.Context(), m); !errors.Is(err, peer.Result(dict.RealmNotServed, "")) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("RFC6733 §7.1.3: 3007 Vendor-Specific-Application-Id for another application", func(t *testing.T) {
		m := rawUDR(c, ui(string(alice), nil), dict.IMSUserState)
		m.DeleteAVP(dict.AVPVendorSpecificApplicationID, 0)
		m.AddAVP(peer.VSAI(dict.Zh))
		if _, err := c.do(t.Context(), m); !errors.Is(err, peer.Result(dict.ApplicationUnsupported, "")) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestPushNotification(t *testing.T) {
	h, addr := startHSS(t, nil)
	cfg := testConfig(addr)
	cfg.Subscribe = true
	cnt := newCounter()
	c := startClient(t, cfg, 1, WithTap(cnt.tap))
	l := &fakeListener{ch: make(chan stateChange, 10)}
	c.SetUserStateListener(l)
	ctx := t.Context()

	sub, err := c.Lookup(ctx, "tel:+15550100")
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe(sub) // what Lookup started in the background, done here synchronously
	if n, _ := h.Subscriptions("sip:alice@example.com"); n != 1 {
		t.Fatalf("HSS holds %d subscriptions", n)
	}
	// TS 29.328 §6.1.4: the HSS pushes the new IMSUserState; the cache and the presence core learn it.
	if err := h.SetUserState(ctx, "sip:alice@example.com", as.NotRegistered); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-l.ch:
		if got != (stateChange{"sip:alice@example.com", as.NotRegistered}) {
			t.Fatalf("listener got %+v", got)
		}
	case <-ctx.Done():
		t.Fatal("no state change")
	}
	udrs := cnt.sent(dict.UserData)
	got, err := c.Lookup(ctx, "sip:alice@example.com")
	if err != nil || got.State != as.NotRegistered || cnt.sent(dict.UserData) != udrs {
		t.Fatalf("cached state %v err %v (UDRs %d→%d)", got.State, err, udrs, cnt.sent(dict.UserData))
	}

	t.Run("TS24.229 §5.4.1.7: third-party REGISTER reaches the listener", func(t *testing.T) {
		c.Registration(ctx, "tel:+15550100", true)
		if got := <-l.ch; got != (stateChange{"sip:alice@example.com", as.Registered}) {
			t.Fatalf("listener got %+v", got)
		}
		c.Registration(ctx, "tel:+15550100", true) // no change, no call
		c.Registration(ctx, "sip:zed@example.com", false)
		if got := <-l.ch; got != (stateChange{"sip:zed@example.com", as.NotRegistered}) {
			t.Fatalf("listener got %+v", got)
		}
	})

	t.Run("TS29.329 §6.2.2: PNR for data never subscribed gets 5107", func(t *testing.T) {
		// bob is subscribed at the HSS by a bare SNR, but the client keeps no record of it.
		if _, err := c.Subscribe(ctx, "sip:bob@example.com", dict.IMSUserState); err != nil {
			t.Fatal(err)
		}
		if err := h.SetUserState(ctx, "sip:bob@example.com", as.NotRegistered); err != nil {
			t.Fatal(err)
		}
		pna := cnt.lastMsg(1, dict.PushNotification, 0)
		if pna == nil {
			t.Fatal("no PNA sent")
		}
		if err := peer.ResultOf(pna); !errors.Is(err, peer.Experimental(dict.ErrorNoSubscriptionToData)) {
			t.Fatalf("PNA result %v", err)
		}
		select {
		case got := <-l.ch:
			t.Fatalf("listener told about an unsubscribed user: %+v", got)
		default:
		}
	})
}

// RFC 6733 §5.3.1: the Sh client's CER advertises exactly Sh, in a Vendor-Specific-Application-Id.
func TestCERAdvertisesSh(t *testing.T) {
	at := newCounter()
	_, addr := startHSS(t, nil, hss.WithTap(at.tap))
	startClient(t, testConfig(addr), 1)
	cer := at.lastMsg(0, dict.CapabilitiesExchange, diam.RequestFlag)
	if cer == nil {
		t.Fatal("no CER")
	}
	var apps []uint32
	for _, v := range peer.FindAll(cer.AVP, dict.AVPVendorSpecificApplicationID, 0) {
		id, _ := peer.Uint32(peer.Find(peer.Children(v), dict.AVPAuthApplicationID, 0))
		apps = append(apps, id)
	}
	if !slices.Equal(apps, []uint32{uint32(dict.Sh)}) || peer.Find(cer.AVP, dict.AVPAuthApplicationID, 0) != nil {
		t.Fatalf("CER advertises %v", apps)
	}
	for _, code := range []uint32{dict.AVPOriginHost, dict.AVPOriginRealm, dict.AVPHostIPAddress, dict.AVPVendorID, dict.AVPProductName, dict.AVPSupportedVendorID} {
		if peer.Find(cer.AVP, code, 0) == nil {
			t.Errorf("CER lacks AVP %d", code)
		}
	}
}

func TestSubscriptionRenewal(t *testing.T) {
	h, addr := startHSS(t, func(c *hss.Config) { c.MaxSubscriptionExpiry = 2 * time.Second })
	cfg := testConfig(addr)
	cfg.Subscribe = true
	cfg.ServiceIndication = ""
	cnt := newCounter()
	c := startClient(t, cfg, 1, WithTap(cnt.tap))
	if _, err := c.Lookup(t.Context(), "sip:bob@example.com"); err != nil {
		t.Fatal(err)
	}
	// TS 29.328 §6.1.3: Expiry-Time granted 2 s (Time AVPs count whole seconds); the client renews before it runs out.
	for cnt.sent(dict.SubscribeNotifications) < 3 {
		select {
		case <-cnt.ch:
		case <-t.Context().Done():
			t.Fatal("no renewal")
		}
	}
	if n, exp := h.Subscriptions("sip:bob@example.com"); n != 1 || exp.IsZero() {
		t.Fatalf("subscriptions %d expiry %v", n, exp)
	}
}

func TestSingleflight(t *testing.T) {
	_, addr := startHSS(t, nil)
	cnt := newCounter()
	c := startClient(t, testConfig(addr), 1, WithTap(cnt.tap))
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Lookup(context.Background(), "sip:erin@example.com"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := cnt.sent(dict.UserData); n < 1 || n > 2 {
		t.Fatalf("UDRs = %d for 50 concurrent lookups of one user", n)
	}
}

func TestCacheBounded(t *testing.T) {
	_, addr := startHSS(t, nil)
	cfg := testConfig(addr)
	cfg.CacheSize = 2
	c := startClient(t, cfg, 1)
	for _, u := range []as.AOR{"sip:a@example.com", "sip:b@example.com", "sip:c@example.com", "tel:+15550100"} {
		if _, err := c.Lookup(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.CacheLen(); n != 2 {
		t.Fatalf("cache holds %d subscribers, bound 2", n)
	}
}

func TestHSSUnreachable(t *testing.T) {
	h, addr := startHSS(t, nil)
	cfg := testConfig(addr)
	cfg.CacheTTL = time.Nanosecond // every lookup goes to the HSS
	cfg.LookupDeadline = 300 * time.Millisecond
	c := startClient(t, cfg, 1)
	if _, err := c.Lookup(t.Context(), "sip:alice@example.com"); err != nil {
		t.Fatal(err)
	}
	h.Close()
	// Cached users keep working, even stale.
	got, err := c.Lookup(t.Context(), "tel:+15550100")
	if err != nil || got.Presentity != "sip:alice@example.com" {
		t.Fatalf("cached lookup: %+v %v", got, err)
	}
	// Uncached: 503-style error within the deadline, never a hang.
	_, err = c.Lookup(t.Context(), "sip:bob@example.com")
	var u *as.DirectoryUnavailableError
	if !errors.As(err, &u) || u.RetryAfter != cfg.RetryAfter {
		t.Fatalf("err = %v", err)
	}
}

func TestFailoverBetweenSimulators(t *testing.T) {
	h1, addr1 := startHSS(t, func(c *hss.Config) { c.OriginHost = "hss1.example.com" })
	at2 := newCounter()
	_, addr2 := startHSS(t, func(c *hss.Config) { c.OriginHost = "hss2.example.com" }, hss.WithTap(at2.tap))
	c := startClient(t, testConfig(addr1, addr2), 2)
	if _, err := c.Lookup(t.Context(), "sip:a@example.com"); err != nil {
		t.Fatal(err)
	}
	h1.Close()
	if _, err := c.Lookup(t.Context(), "sip:b@example.com"); err != nil {
		t.Fatalf("after primary went away: %v", err)
	}
	if at2.count(0, dict.UserData, diam.RequestFlag) != 1 {
		t.Fatalf("the second simulator saw %v", at2.n)
	}
}

// TS 29.328 §6.1.2: a PUR by one AS reaches the other subscribed ASs as a PNR carrying the
// repository data, which invalidates their cached entry.
func TestRepositoryPushToOtherAS(t *testing.T) {
	_, addr := startHSS(t, nil)
	writer := startClient(t, testConfig(addr), 1)
	cfg := testConfig(addr)
	cfg.OriginHost = "as2.example.com"
	cfg.Subscribe = true
	cnt := newCounter()
	reader := startClient(t, cfg, 1, WithTap(cnt.tap))
	ctx := t.Context()
	const u = as.AOR("sip:frank@example.com")
	if _, err := writer.UpdateRepository(ctx, u, []byte("<v>1</v>")); err != nil { // stored, so SNR may name it
		t.Fatal(err)
	}
	sub, err := reader.Lookup(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	reader.subscribe(sub)
	if _, err := writer.UpdateRepository(ctx, u, []byte("<v>2</v>")); err != nil {
		t.Fatal(err)
	}
	for cnt.count(1, dict.PushNotification, 0) == 0 { // our PNA went out
		select {
		case <-cnt.ch:
		case <-ctx.Done():
			t.Fatal("no PNR reached the second AS")
		}
	}
	pnr := cnt.lastMsg(0, dict.PushNotification, diam.RequestFlag)
	b, _ := peer.Bytes(peer.Find(pnr.AVP, dict.AVPUserData, dict.Vendor3GPP))
	d, err := ParseData(b)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := d.Repository(cfg.ServiceIndication); !ok || r.SequenceNumber != 1 || string(r.ServiceData) != "<v>2</v>" {
		t.Fatalf("PNR data %+v", d)
	}
	if _, fresh, ok := reader.cache.get(u); ok && fresh {
		t.Fatal("cached entry survived the PNR")
	}
}
