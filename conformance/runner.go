package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Target is the server under test.
type Target struct {
	SIP       string // host:port of the SIP listener
	Transport string // "udp" (default) or "tcp"
	Domain    string // the served domain, e.g. example.com
	// XCAPRoot is the XCAP root URL, e.g. http://127.0.0.1:8080/xcap-root; empty skips HTTP flows.
	XCAPRoot string
	// XCAPUser and XCAPPassword authenticate XCAP requests with HTTP Digest; XUI is the
	// user's identity in XCAP URIs (e.g. sip:alice@example.com).
	XCAPUser, XCAPPassword, XUI string
	// MIMEFolder is the first path segment of stored MIME objects (${mime}), default
	// "mime-objects"; TS 24.141 leaves the folder to the server.
	MIMEFolder string
	// Wait bounds each wait for a response or a NOTIFY (default 10 s).
	Wait time.Duration
	Log  *slog.Logger
}

// Run replays the flows against the target and reports each step. It returns an error
// only when it cannot run at all; failing steps are in the report.
func Run(ctx context.Context, t Target, flows []Flow) *Report {
	if t.Transport == "" {
		t.Transport = "udp"
	}
	if t.Wait == 0 {
		t.Wait = 10 * time.Second
	}
	if t.MIMEFolder == "" {
		t.MIMEFolder = "mime-objects"
	}
	if t.Log == nil {
		t.Log = slog.New(slog.DiscardHandler)
	}
	rep := &Report{Target: t, Started: time.Now()}
	for _, f := range flows {
		rep.Flows = append(rep.Flows, runFlow(ctx, t, f))
	}
	rep.Finished = time.Now()
	return rep
}

// run is the state of one flow's replay.
type run struct {
	t      Target
	id     string // makes user names unique per run, so runs do not see each other's state
	vars   map[string]string
	actors map[string]*actor
	res    *FlowResult
}

func runFlow(ctx context.Context, t Target, f Flow) *FlowResult {
	r := &run{t: t, id: randomHex(4), vars: map[string]string{}, actors: map[string]*actor{},
		res: &FlowResult{Flow: f}}
	defer func() {
		for _, a := range r.actors {
			a.close()
		}
	}()
	for _, s := range f.Steps {
		sr := StepResult{Label: s.Label}
		var err error
		switch {
		case s.SIP != nil:
			err = r.sipStep(ctx, s.SIP, &sr)
		case s.Notify != nil:
			err = r.notifyStep(ctx, s.Notify, &sr)
		case s.HTTP != nil:
			err = r.httpStep(ctx, s.HTTP, &sr)
		default:
			err = errors.New("step has nothing to do")
		}
		if err != nil {
			sr.Err = err.Error()
		}
		r.res.Steps = append(r.res.Steps, sr)
		if err != nil {
			break // later steps depend on this one
		}
	}
	return r.res
}

var substRE = regexp.MustCompile(`\$\{(domain|run|root|xui|mime|mimeurl|aor:[A-Za-z0-9_-]+|var:[A-Za-z0-9_-]+)\}`)

func (r *run) subst(s string) (string, error) {
	var missing error
	out := substRE.ReplaceAllStringFunc(s, func(m string) string {
		key := m[2 : len(m)-1]
		switch {
		case key == "domain":
			return r.t.Domain
		case key == "run":
			return r.id
		case key == "root":
			return strings.TrimRight(r.t.XCAPRoot, "/")
		case key == "xui":
			return r.t.XUI
		case key == "mime":
			return r.t.MIMEFolder
		case key == "mimeurl":
			return strings.TrimRight(r.t.XCAPRoot, "/") + "/" + r.t.MIMEFolder + "/users/" + r.t.XUI
		case strings.HasPrefix(key, "aor:"):
			return "sip:" + key[4:] + "-" + r.id + "@" + r.t.Domain
		default:
			v, ok := r.vars[key[4:]]
			if !ok {
				missing = fmt.Errorf("variable %s not saved by an earlier step", key[4:])
			}
			return v
		}
	})
	return out, missing
}

// actor is one SIP user agent with its own listener for NOTIFYs.
type actor struct {
	name    string
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	cli     *sipgo.Client
	contact sip.Uri
	close   func()

	mu       sync.Mutex
	notifies []*sip.Request
	arrived  chan struct{}
	dialogs  map[string]*dialog
}

type dialog struct {
	callID, localTag, remoteTag string
	remoteURI, localURI         string
	cseq                        uint32
	target                      sip.Uri
	lastNotifyCSeq              uint32
}

func (r *run) actor(name string) (*actor, error) {
	if a, ok := r.actors[name]; ok {
		return a, nil
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("imsps-conformance"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(r.t.Log))
	if err != nil {
		return nil, err
	}
	a := &actor{name: name, ua: ua, srv: srv, arrived: make(chan struct{}, 1), dialogs: map[string]*dialog{}}
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		a.mu.Lock()
		a.notifies = append(a.notifies, req)
		a.mu.Unlock()
		select {
		case a.arrived <- struct{}{}:
		default:
		}
	})
	var addr net.Addr
	switch r.t.Transport {
	case "tcp":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		go srv.ServeTCP(l)
		addr = l.Addr()
		a.close = func() { l.Close(); srv.Close(); ua.Close() }
	default:
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		go srv.ServeUDP(c)
		addr = c.LocalAddr()
		a.close = func() { c.Close(); srv.Close(); ua.Close() }
	}
	host, port, _ := net.SplitHostPort(addr.String())
	p, _ := strconv.Atoi(port)
	a.contact = sip.Uri{User: name, Host: host, Port: p, UriParams: sip.NewParams()}
	a.contact.UriParams.Add("transport", r.t.Transport)
	a.cli, err = sipgo.NewClient(ua, sipgo.WithClientHostname(host))
	if err != nil {
		a.close()
		return nil, err
	}
	r.actors[name] = a
	return a, nil
}

func (r *run) sipStep(ctx context.Context, s *SIPRequest, sr *StepResult) error {
	a, err := r.actor(s.Actor)
	if err != nil {
		return err
	}
	to, err := r.subst(s.To)
	if err != nil {
		return err
	}
	from, err := r.subst(s.From)
	if err != nil {
		return err
	}
	var ruri, toURI, fromURI sip.Uri
	if err := sip.ParseUri(to, &toURI); err != nil {
		return fmt.Errorf("To %q: %w", to, err)
	}
	if err := sip.ParseUri(from, &fromURI); err != nil {
		return fmt.Errorf("From %q: %w", from, err)
	}
	ruri = toURI
	d := a.dialogs[s.Dialog]
	if s.Dialog == "" || d == nil {
		d = &dialog{callID: randomHex(12) + "@conformance", localTag: randomHex(6), remoteTag: s.ToTag}
	} else {
		ruri = d.target
	}
	d.cseq++

	req := sip.NewRequest(sip.RequestMethod(s.Method), ruri)
	fromParams := sip.NewParams()
	fromParams.Add("tag", d.localTag)
	req.AppendHeader(&sip.FromHeader{Address: fromURI, Params: fromParams})
	toParams := sip.NewParams()
	if d.remoteTag != "" {
		toParams.Add("tag", d.remoteTag)
	}
	req.AppendHeader(&sip.ToHeader{Address: toURI, Params: toParams})
	callID := sip.CallIDHeader(d.callID)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: d.cseq, MethodName: sip.RequestMethod(s.Method)})
	req.AppendHeader(&sip.ContactHeader{Address: a.contact})
	req.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	for _, h := range s.Headers {
		v, err := r.subst(h.Value)
		if err != nil {
			return err
		}
		req.AppendHeader(sip.NewHeader(h.Name, v))
	}
	if s.Body != "" {
		body, err := r.subst(s.Body)
		if err != nil {
			return err
		}
		ct := sip.ContentTypeHeader(s.ContentType)
		req.AppendHeader(&ct)
		req.SetBody([]byte(body))
	}
	req.SetDestination(r.t.SIP)
	req.SetTransport(strings.ToUpper(r.t.Transport))
	sr.Message = Message{From: s.Actor, To: "server", Text: req.String()}

	ctx, cancel := context.WithTimeout(ctx, r.t.Wait)
	defer cancel()
	res, err := a.cli.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("%s: no final response: %w", s.Method, err)
	}
	sr.Reply = Message{From: "server", To: s.Actor, Text: res.String()}
	if err := r.check(s.Expect, int(res.StatusCode), func(n string) string { return headerValue(res, n) }, string(res.Body())); err != nil {
		return err
	}
	if s.Method == "SUBSCRIBE" && res.IsSuccess() && s.Dialog != "" && d.remoteTag == "" {
		if tag, ok := res.To().Params.Get("tag"); ok {
			d.remoteTag = tag
		}
		d.target = toURI
		if c := res.Contact(); c != nil {
			d.target = c.Address
		}
		a.dialogs[s.Dialog] = d
	}
	return nil
}

func headerValue(m interface{ GetHeader(string) sip.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

func (r *run) check(e Expect, status int, header func(string) string, body string) error {
	if e.Status != 0 && status != e.Status {
		return fmt.Errorf("status %d, want %d", status, e.Status)
	}
	for name, pattern := range e.Headers {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return err
		}
		if v := header(name); !re.MatchString(v) {
			return fmt.Errorf("%s: %q does not match %q", name, v, pattern)
		}
	}
	for _, want := range e.BodyHas {
		w, err := r.subst(want)
		if err != nil {
			return err
		}
		if !strings.Contains(body, w) {
			return fmt.Errorf("body lacks %q", w)
		}
	}
	for name, field := range e.Save {
		v := header(field)
		if v == "" {
			return fmt.Errorf("no %s to save as %s", field, name)
		}
		r.vars[name] = v
	}
	return nil
}

func (r *run) notifyStep(ctx context.Context, n *NotifyExpect, sr *StepResult) error {
	a, err := r.actor(n.Actor)
	if err != nil {
		return err
	}
	d := a.dialogs[n.Dialog]
	if d == nil {
		return fmt.Errorf("no dialog %q for %s", n.Dialog, n.Actor)
	}
	deadline := time.NewTimer(r.t.Wait)
	defer deadline.Stop()
	for {
		if req := a.take(d.callID); req != nil {
			sr.Message = Message{From: "server", To: n.Actor, Text: req.String()}
			sr.Reply = Message{From: n.Actor, To: "server", Text: "SIP/2.0 200 OK"}
			return r.checkNotify(n, d, req)
		}
		select {
		case <-a.arrived:
		case <-deadline.C:
			return fmt.Errorf("no NOTIFY in dialog %q within %s", n.Dialog, r.t.Wait)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// take removes and returns the oldest NOTIFY of a dialog.
func (a *actor) take(callID string) *sip.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, req := range a.notifies {
		if req.CallID() != nil && string(*req.CallID()) == callID {
			a.notifies = append(a.notifies[:i], a.notifies[i+1:]...)
			return req
		}
	}
	return nil
}

func (r *run) checkNotify(n *NotifyExpect, d *dialog, req *sip.Request) error {
	// RFC 3261 §12.2.1.1: CSeq numbers in one direction of a dialog strictly increase.
	if cs := req.CSeq(); cs != nil {
		if cs.SeqNo <= d.lastNotifyCSeq {
			return fmt.Errorf("NOTIFY CSeq %d not above previous %d", cs.SeqNo, d.lastNotifyCSeq)
		}
		d.lastNotifyCSeq = cs.SeqNo
	}
	if tag, _ := req.From().Params.Get("tag"); tag != d.remoteTag {
		return fmt.Errorf("NOTIFY From-tag %q, want the dialog's %q", tag, d.remoteTag)
	}
	if tag, _ := req.To().Params.Get("tag"); tag != d.localTag {
		return fmt.Errorf("NOTIFY To-tag %q, want the dialog's %q", tag, d.localTag)
	}
	if ev := headerValue(req, "Event"); !strings.HasPrefix(strings.TrimSpace(ev), "presence") {
		return fmt.Errorf("NOTIFY Event %q, want presence", ev)
	}
	state := headerValue(req, "Subscription-State")
	if n.State != "" {
		re, err := regexp.Compile(n.State)
		if err != nil {
			return err
		}
		if !re.MatchString(state) {
			return fmt.Errorf("Subscription-State %q does not match %q", state, n.State)
		}
	}
	body := string(req.Body())
	for _, want := range n.BodyHas {
		w, err := r.subst(want)
		if err != nil {
			return err
		}
		if !strings.Contains(body, w) {
			return fmt.Errorf("NOTIFY body lacks %q", w)
		}
	}
	for _, bad := range n.BodyLacks {
		if strings.Contains(body, bad) {
			return fmt.Errorf("NOTIFY body has %q", bad)
		}
	}
	return nil
}

func (r *run) httpStep(ctx context.Context, h *HTTPRequest, sr *StepResult) error {
	if r.t.XCAPRoot == "" {
		return errors.New("no XCAP root configured")
	}
	path, err := r.subst(h.Path)
	if err != nil {
		return err
	}
	body, err := r.subst(h.Body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.t.Wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, h.Method, strings.TrimRight(r.t.XCAPRoot, "/")+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	if h.ContentType != "" {
		req.Header.Set("Content-Type", h.ContentType)
	}
	for _, hd := range h.Headers {
		v, err := r.subst(hd.Value)
		if err != nil {
			return err
		}
		req.Header.Set(hd.Name, v)
	}
	sr.Message = Message{From: "xcap-client", To: "server", Text: h.Method + " " + req.URL.RequestURI() + " HTTP/1.1\n\n" + body}
	client := &http.Client{Transport: &digest.Transport{Username: r.t.XCAPUser, Password: r.t.XCAPPassword}}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	var hdr strings.Builder
	for k, v := range res.Header {
		fmt.Fprintf(&hdr, "%s: %s\n", k, strings.Join(v, ", "))
	}
	sr.Reply = Message{From: "server", To: "xcap-client", Text: res.Proto + " " + res.Status + "\n" + hdr.String() + "\n" + string(data)}
	return r.check(h.Expect, res.StatusCode, res.Header.Get, string(data))
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
