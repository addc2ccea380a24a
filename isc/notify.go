package isc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/imsps/imsps/as"
)

// udpSizeLimit is the RFC 3261 §18.1.1 threshold: a request larger than 1300 bytes (path
// MTU unknown) goes over a congestion-controlled transport.
const udpSizeLimit = 1300

// tcpSwitchDial bounds the connection attempt when a large NOTIFY switches from UDP to TCP.
const tcpSwitchDial = 2 * time.Second

// Notifier sends in-dialog NOTIFY requests (RFC 6665 §4.2.2) for the presence core: it
// implements as.Notifier. It owns the SIP stack (transport and transaction layers) that
// the Server shares, so NOTIFYs leave from the listening sockets.
type Notifier struct {
	cfg    Config
	log    *slog.Logger
	ua     *sipgo.UserAgent
	client *sipgo.Client

	mu       sync.Mutex
	udp      net.PacketConn // listener, once Serve attached it
	udpAddr  netip.AddrPort
	tcpAddr  netip.AddrPort
	closed   bool
	ready    chan struct{} // closed once Serve attached the listeners
	done     chan struct{} // closed by Close
	inflight sync.WaitGroup
	big      map[string]*sip.ClientTx // NOTIFYs sent over UDP above sipgo's size limit
}

var _ as.Notifier = (*Notifier)(nil)

// NewNotifier builds the SIP stack. Pass it to New, and to the presence core as its Notifier.
func NewNotifier(cfg Config, log *slog.Logger) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		return nil, errors.New("isc: nil logger")
	}
	log = log.With("component", "isc")
	n := &Notifier{cfg: cfg, log: log, big: make(map[string]*sip.ClientTx), ready: make(chan struct{}), done: make(chan struct{})}
	stackLog := newStackLog(log)
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(stackLog)),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(stackLog),
			sip.WithTransactionLayerUnhandledResponseHandler(n.unmatchedResponse),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("isc: sip stack: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(stackLog))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("isc: sip client: %w", err)
	}
	n.ua, n.client = ua, client
	return n, nil
}

// attach records the listeners NOTIFYs are sent from.
func (n *Notifier) attach(udp net.PacketConn, tcp net.Listener) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrServerClosed
	}
	if udp != nil {
		ap, err := netip.ParseAddrPort(udp.LocalAddr().String())
		if err != nil {
			return fmt.Errorf("isc: UDP listener address: %w", err)
		}
		n.udp, n.udpAddr = udp, ap
	}
	if tcp != nil {
		ap, err := netip.ParseAddrPort(tcp.Addr().String())
		if err != nil {
			return fmt.Errorf("isc: TCP listener address: %w", err)
		}
		n.tcpAddr = ap
	}
	if udp == nil {
		close(n.ready)
	}
	return nil
}

// udpReady is called once sipgo reads from the UDP listener, which it registers for
// sending first: from then on NOTIFYs can leave from it.
func (n *Notifier) udpReady() { close(n.ready) }

// Close waits for NOTIFYs in flight, then shuts the SIP stack down. It is idempotent.
func (n *Notifier) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	close(n.done)
	n.mu.Unlock()
	n.inflight.Wait()
	return n.ua.Close()
}

func (n *Notifier) enter() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	n.inflight.Add(1)
	return true
}

// advertised returns the host and port imsps names for transport tp ("udp"/"tcp"):
// sip.host when set, else the listener's address.
func (n *Notifier) advertised(tp string) (string, int) {
	n.mu.Lock()
	ap := n.udpAddr
	if strings.EqualFold(tp, "tcp") {
		ap = n.tcpAddr
	}
	n.mu.Unlock()
	host, port := "", 0
	if ap.IsValid() {
		host, port = ap.Addr().Unmap().String(), int(ap.Port())
	}
	if n.cfg.Host != "" {
		hp := splitHostPortLoose(n.cfg.Host)
		host = hp.host
		if hp.port != 0 {
			port = hp.port
		}
	}
	return host, port
}

// contact is our Contact URI for dialogs established over transport tp.
func (n *Notifier) contact(tp string) sip.Uri {
	host, port := n.advertised(tp)
	u := sip.Uri{Scheme: "sip", Host: host, Port: port}
	if strings.EqualFold(tp, "tcp") {
		u.UriParams = sip.HeaderParams{{K: "transport", V: "tcp"}}
	}
	return u
}

// hop is where a NOTIFY goes (RFC 3261 §12.2.1.1, §8.1.2).
type hop struct {
	requestURI sip.Uri
	routes     []sip.Uri
	next       sip.Uri // the URI whose host/port/transport the request is sent to
	transport  string  // "UDP" or "TCP"
}

// planHop computes Request-URI, Route set and next hop from the dialog: loose routing when
// the first route has ;lr, strict routing otherwise.
func planHop(d as.Dialog) (hop, error) {
	var h hop
	// The remote target is a URI; accept a name-addr too.
	target := strings.TrimSpace(d.RemoteTarget)
	if strings.ContainsAny(target, "<\"") {
		var ok bool
		if target, ok = addrSpec(target); !ok {
			return h, fmt.Errorf("remote target %q: not a URI", d.RemoteTarget)
		}
	}
	if err := sip.ParseUri(target, &h.requestURI); err != nil || h.requestURI.Host == "" {
		return h, fmt.Errorf("remote target %q: not a SIP URI", d.RemoteTarget)
	}
	for _, r := range d.RouteSet {
		u, err := parseRoute(r)
		if err != nil {
			return h, fmt.Errorf("route set: %w", err)
		}
		h.routes = append(h.routes, u)
	}
	h.next = h.requestURI
	if len(h.routes) > 0 {
		first := h.routes[0]
		if first.UriParams.Has("lr") {
			h.next = first
		} else {
			// Strict routing: the first route becomes the Request-URI (without method and
			// headers), the remote target goes last.
			ruri := first
			ruri.Headers = nil
			ruri.UriParams = ruri.UriParams.Clone()
			ruri.UriParams.Remove("method")
			h.routes = append(h.routes[1:len(h.routes):len(h.routes)], h.requestURI)
			h.requestURI = ruri
			h.next = first
		}
	}
	h.transport = "UDP"
	if strings.EqualFold(d.Transport, "tcp") {
		h.transport = "TCP"
	}
	if tp, ok := h.next.UriParams.Get("transport"); ok && tp != "" {
		h.transport = strings.ToUpper(tp)
	}
	if strings.EqualFold(h.next.Scheme, "sips") {
		h.transport = "TCP" // imsps has no TLS listener; sips hops are reached over TCP
	}
	if h.transport != "UDP" && h.transport != "TCP" {
		return h, fmt.Errorf("next hop %s: transport %s not supported", h.destination(), h.transport)
	}
	return h, nil
}

// destination is host:port of the next hop (default port 5060).
func (h hop) destination() string {
	port := h.next.Port
	if port == 0 {
		port = sip.DefaultPort("udp")
	}
	return net.JoinHostPort(strings.Trim(h.next.Host, "[]"), strconv.Itoa(port))
}

// buildNotify builds the in-dialog NOTIFY for transport tp.
func (n *Notifier) buildNotify(nt as.Notification, h hop, tp string) (*sip.Request, error) {
	d := nt.Dialog
	for _, v := range []string{d.CallID, d.LocalTag, d.RemoteTag, nt.Event, nt.EventID, nt.Reason, nt.ChargingVector, nt.ContentType} {
		if !safeValue(v) {
			return nil, fmt.Errorf("notification for %s: header value with a line break", d.CallID)
		}
	}
	if d.CallID == "" || d.LocalTag == "" || d.RemoteTag == "" {
		return nil, fmt.Errorf("notification: incomplete dialog (call-id %q)", d.CallID)
	}
	req := sip.NewRequest(sip.NOTIFY, h.requestURI)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: tp, Params: sip.NewParams()}
	via.Host, via.Port = n.advertised(tp)
	via.Params.Add("branch", sip.GenerateBranchN(16))
	req.AppendHeader(via)
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	for _, r := range h.routes {
		req.AppendHeader(&sip.RouteHeader{Address: r})
	}

	from := &sip.FromHeader{Params: sip.NewParams()}
	local := d.LocalURI
	if local == "" {
		c := n.contact(tp)
		local = "<" + c.String() + ">"
	}
	name, err := sip.ParseAddressValue(local, &from.Address, &from.Params)
	if err != nil {
		return nil, fmt.Errorf("local URI %q: %w", local, err)
	}
	from.DisplayName = name
	from.Params.Remove("tag")
	from.Params.Add("tag", d.LocalTag)
	req.AppendHeader(from)

	to := &sip.ToHeader{Params: sip.NewParams()}
	name, err = sip.ParseAddressValue(d.RemoteURI, &to.Address, &to.Params)
	if err != nil {
		return nil, fmt.Errorf("remote URI %q: %w", d.RemoteURI, err)
	}
	to.DisplayName = name
	to.Params.Remove("tag")
	to.Params.Add("tag", d.RemoteTag)
	req.AppendHeader(to)

	cid := sip.CallIDHeader(d.CallID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: nt.CSeq, MethodName: sip.NOTIFY})
	req.AppendHeader(&sip.ContactHeader{Address: n.contact(tp)})
	setHeader(req, hdrEvent, eventHeader{Package: nt.Event, ID: nt.EventID}.String())
	setHeader(req, hdrSubscriptionState, notificationState(nt))
	if nt.ChargingVector != "" {
		setHeader(req, hdrChargingVector, nt.ChargingVector)
	}
	setHeader(req, hdrUserAgent, n.cfg.UserAgent)
	if len(nt.Body) > 0 {
		ct := sip.ContentTypeHeader(nt.ContentType)
		if ct == "" {
			ct = mediaPIDF
		}
		req.AppendHeader(&ct)
	}
	req.SetBody(nt.Body)
	req.SetTransport(tp)
	req.SetDestination(h.destination())
	if tp == "UDP" {
		n.mu.Lock()
		if n.udpAddr.IsValid() {
			req.Laddr = sip.Addr{IP: net.IP(n.udpAddr.Addr().AsSlice()), Port: int(n.udpAddr.Port())}
		}
		n.mu.Unlock()
	}
	return req, nil
}

// notificationState is the Subscription-State of nt (RFC 6665 §4.1.3 expires, reason).
func notificationState(nt as.Notification) string {
	switch nt.State {
	case as.StateTerminated:
		return subscriptionState(string(nt.State), nt.Reason, -1)
	default:
		secs := int(nt.Expires / time.Second)
		if secs < 0 {
			secs = 0
		}
		return subscriptionState(string(nt.State), "", secs)
	}
}

// Notify sends one NOTIFY in the notification's dialog and waits for the final response.
// It returns nil on 2xx, an error wrapping as.ErrNoSuchSubscription on 481,
// as.ErrNotifyTimeout when no final response came within sip.notify_timeout (or on 408),
// and another error otherwise.
//
// A NOTIFY above 1300 bytes that would go over UDP is sent over TCP to the same next hop
// (RFC 3261 §18.1.1); if the TCP connection cannot be set up it is retried over UDP as
// one large datagram.
func (n *Notifier) Notify(ctx context.Context, nt as.Notification) error {
	if !n.enter() {
		return ErrServerClosed
	}
	defer n.inflight.Done()
	select { // NOTIFYs leave from the listeners: wait for Serve
	case <-n.ready:
	case <-n.done:
		return ErrServerClosed
	case <-ctx.Done():
		return fmt.Errorf("NOTIFY %s: not serving yet: %w", nt.Dialog.CallID, ctx.Err())
	}
	h, err := planHop(nt.Dialog)
	if err != nil {
		return fmt.Errorf("NOTIFY %s: %w", nt.Dialog.CallID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.NotifyTimeout)
	defer cancel()

	req, err := n.buildNotify(nt, h, h.transport)
	if err != nil {
		return fmt.Errorf("NOTIFY %s: %w", nt.Dialog.CallID, err)
	}
	if h.transport == "UDP" && messageSize(req) > udpSizeLimit {
		treq, err := n.buildNotify(nt, h, "TCP")
		if err != nil {
			return fmt.Errorf("NOTIFY %s: %w", nt.Dialog.CallID, err)
		}
		res, err := n.send(ctx, treq, tcpSwitchDial)
		if !errors.Is(err, errConnect) {
			return n.outcome(ctx, nt, res, err)
		}
		n.log.Debug("large NOTIFY: TCP not available, sending over UDP", "call_id", nt.Dialog.CallID, "bytes", messageSize(req), "err", err)
		res, err = n.sendLargeUDP(ctx, req, h)
		return n.outcome(ctx, nt, res, err)
	}
	res, err := n.send(ctx, req, 0)
	return n.outcome(ctx, nt, res, err)
}

func messageSize(req *sip.Request) int {
	var b strings.Builder
	req.StringWrite(&b)
	return b.Len()
}

// errConnect marks a NOTIFY that could not be handed to the transport at all.
var errConnect = errors.New("no connection to next hop")

// noBuild tells sipgo the request is complete (no Via, From, CSeq ... of its own).
func noBuild(*sipgo.Client, *sip.Request) error { return nil }

// send runs one client transaction. dial, when non-zero, bounds connection setup.
func (n *Notifier) send(ctx context.Context, req *sip.Request, dial time.Duration) (*sip.Response, error) {
	dctx := ctx
	if dial > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, dial)
		defer cancel()
	}
	tx, err := n.client.TransactionRequest(dctx, req, noBuild)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errConnect, err)
	}
	return await(ctx, tx)
}

// await waits for the final response of a client transaction.
func await(ctx context.Context, tx sip.ClientTransaction) (*sip.Response, error) {
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, tx.Err()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// outcome maps the transaction result to the as.Notifier contract.
func (n *Notifier) outcome(ctx context.Context, nt as.Notification, res *sip.Response, err error) error {
	cid := nt.Dialog.CallID
	if err != nil {
		switch {
		case errors.Is(err, sip.ErrTransactionTimeout),
			errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
			return fmt.Errorf("NOTIFY %s cseq %d: %w", cid, nt.CSeq, as.ErrNotifyTimeout)
		}
		return fmt.Errorf("NOTIFY %s cseq %d: %w", cid, nt.CSeq, err)
	}
	switch {
	case res.IsSuccess():
		return nil
	case res.StatusCode == StatusCallDoesNotExist:
		return fmt.Errorf("NOTIFY %s answered 481: %w", cid, as.ErrNoSuchSubscription)
	case res.StatusCode == 408:
		return fmt.Errorf("NOTIFY %s answered 408: %w", cid, as.ErrNotifyTimeout)
	}
	return fmt.Errorf("NOTIFY %s answered %d %s", cid, res.StatusCode, res.Reason)
}

// sendLargeUDP sends a NOTIFY that exceeds sipgo's UDP size limit as one datagram from the
// UDP listener, in a client transaction of our own (sipgo's RFC 3261 §17.1.2 state machine
// with retransmissions; responses reach it through unmatchedResponse). This keeps
// sip.UDPMTUSize, a library-wide variable, untouched.
func (n *Notifier) sendLargeUDP(ctx context.Context, req *sip.Request, h hop) (*sip.Response, error) {
	n.mu.Lock()
	pc := n.udp
	n.mu.Unlock()
	if pc == nil {
		return nil, errors.New("no UDP listener")
	}
	raddr, err := resolveUDP(ctx, h.destination())
	if err != nil {
		return nil, err
	}
	key, err := sip.ClientTxKeyMake(req)
	if err != nil {
		return nil, err
	}
	tx := sip.NewClientTx(key, req, &datagramConn{pc: pc, raddr: raddr}, n.log)
	n.mu.Lock()
	n.big[key] = tx
	n.mu.Unlock()
	tx.OnTerminate(func(key string, _ error) {
		n.mu.Lock()
		delete(n.big, key)
		n.mu.Unlock()
	})
	if err := tx.Init(); err != nil {
		tx.Terminate()
		return nil, err
	}
	return await(ctx, tx)
}

// unmatchedResponse receives responses the transaction layer did not match: those of
// sendLargeUDP's transactions, and strays (logged).
func (n *Notifier) unmatchedResponse(res *sip.Response) {
	key, err := sip.ClientTxKeyMake(res)
	if err == nil {
		n.mu.Lock()
		tx := n.big[key]
		n.mu.Unlock()
		if tx != nil {
			tx.Receive(res)
			return
		}
	}
	n.log.Debug("response matches no transaction", "status", res.StatusCode, "call_id", res.CallID())
}

func resolveUDP(ctx context.Context, hostport string) (*net.UDPAddr, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, err
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, uint16(p))), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(ips[0].Unmap(), uint16(p))), nil
}

// datagramConn is a sip.Connection that writes whole messages as single datagrams from
// the UDP listener, without sipgo's 1300-byte limit (RFC 3261 §18.1.1 allows up to the
// datagram maximum once congestion-controlled transport is not available).
type datagramConn struct {
	pc    net.PacketConn
	raddr *net.UDPAddr
}

func (c *datagramConn) LocalAddr() net.Addr { return c.pc.LocalAddr() }

func (c *datagramConn) WriteMsg(msg sip.Message) error {
	var b strings.Builder
	msg.StringWrite(&b)
	_, err := c.pc.WriteTo([]byte(b.String()), c.raddr)
	return err
}

func (c *datagramConn) Ref(int) int            { return 1 }
func (c *datagramConn) TryClose() (int, error) { return 1, nil }
func (c *datagramConn) Close() error           { return nil }
