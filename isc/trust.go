package isc

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// trustedSource reports whether the request came from a trusted S-CSCF address
// (the RFC 3325 trust domain of TS 24.229 §4.4). src is the packet source "ip:port".
func (s *Server) trustedSource(src string) bool {
	host, _, err := net.SplitHostPort(src)
	if err != nil {
		host = src
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// identity returns who sent req: the first SIP/tel URI of P-Asserted-Identity (values pai) when the
// request came from a trusted S-CSCF, otherwise the From URI (RFC 3325 §9.1: an asserted
// identity from outside the trust domain is ignored). imsps never forwards requests, so an
// untrusted P-Asserted-Identity goes no further than this function.
func (s *Server) identity(req *sip.Request, pai []string) (id string, asserted bool) {
	if len(pai) > 0 && s.trustedSource(req.Source()) {
		if pai, ok := parseAssertedIdentity(pai); ok {
			return pai, true
		}
	}
	if f := req.From(); f != nil {
		return uriString(f.Address), false
	}
	return "", false
}

// uriString prints a URI without its header component.
func uriString(u sip.Uri) string {
	u.Headers = nil
	return u.String()
}

// namesUs reports whether a URI names imsps: its host[:port] is the configured host, an
// alias, or the address of a listener.
func (s *Server) namesUs(u sip.Uri) bool {
	if u.User != "" && !strings.EqualFold(u.Scheme, "sip") && !strings.EqualFold(u.Scheme, "sips") {
		return false
	}
	host := strings.ToLower(strings.Trim(u.Host, "[]"))
	for _, me := range s.selves() {
		mh, mp := me.host, me.port
		if host != mh {
			continue
		}
		if mp == 0 || u.Port == 0 || u.Port == mp {
			return true
		}
	}
	return false
}

type hostPort struct {
	host string // lower case, IPv6 without brackets
	port int    // 0: any
}

// selves lists the host[:port] values that are imsps.
func (s *Server) selves() []hostPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.self
}

func splitHostPortLoose(v string) hostPort {
	if h, p, err := net.SplitHostPort(v); err == nil {
		n, _ := strconv.Atoi(p)
		return hostPort{host: strings.ToLower(h), port: n}
	}
	return hostPort{host: strings.ToLower(strings.Trim(v, "[]"))}
}

// requestTarget returns the Request-URI imsps acts on as terminating UA (TS 24.229 §5.7.1,
// RFC 3261 §16.4). An S-CSCF reaches the AS with the Request-URI unchanged and Route naming
// the AS (then the S-CSCF's own original-dialog entry); imsps consumes the request and
// ignores the rest of the route, since it never proxies. If a strict router put our URI in
// the Request-URI, the real Request-URI is the last Route entry.
func (s *Server) requestTarget(req *sip.Request) sip.Uri {
	rs := routes(req)
	if len(rs) > 0 && s.namesUs(req.Recipient) && !req.Recipient.UriParams.Has("lr") {
		return rs[len(rs)-1]
	}
	return req.Recipient
}
