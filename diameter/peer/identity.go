package peer

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/imsps/imsps/diameter/dict"
)

// Identity is how this node presents itself in CER/CEA and in every message it originates.
type Identity struct {
	OriginHost  string // DiameterIdentity (FQDN), e.g. "as.example.com"
	OriginRealm string // e.g. "example.com"
	// HostIPAddresses are advertised in Host-IP-Address; empty means the connection's local address.
	HostIPAddresses []net.IP
	ProductName     string // Product-Name; "imsps" when empty
	VendorID        uint32 // Vendor-Id; 0 is allowed (RFC 6733 §5.3.3)
	OriginStateID   uint32 // Origin-State-Id; 0: derived from the start time
}

// Validate checks the identity; prefix names the configuration key (e.g. "sh").
func (id Identity) Validate(prefix string) error {
	if id.OriginHost == "" || strings.ContainsAny(id.OriginHost, " ;") {
		return fmt.Errorf("%s.origin_host: %q is not a DiameterIdentity", prefix, id.OriginHost)
	}
	if id.OriginRealm == "" || strings.ContainsAny(id.OriginRealm, " ;") {
		return fmt.Errorf("%s.origin_realm: %q is not a realm", prefix, id.OriginRealm)
	}
	return nil
}

func (id Identity) withDefaults() Identity {
	if id.ProductName == "" {
		id.ProductName = "imsps"
	}
	if id.OriginStateID == 0 {
		id.OriginStateID = uint32(time.Now().Unix())
	}
	return id
}

// Remote is what the capabilities exchange told us about the peer at the other end.
type Remote struct {
	OriginHost  string
	OriginRealm string
	Addr        net.Addr
	Apps        []dict.App // the applications both sides advertised
}

type ctxKey struct{ name string }

var (
	remoteKey = &ctxKey{"remote"}
	localKey  = &ctxKey{"local"}
)

// FromContext returns the remote peer a handler's request came from.
func FromContext(ctx context.Context) (Remote, bool) {
	r, ok := ctx.Value(remoteKey).(Remote)
	return r, ok
}

// LocalFromContext returns the local identity the request was received under.
func LocalFromContext(ctx context.Context) (Identity, bool) {
	l, ok := ctx.Value(localKey).(Identity)
	return l, ok
}

// SessionIDs makes Session-Id values "<OriginHost>;<high 32 bits>;<low 32 bits>" (RFC 6733 §8.8):
// the high part is the start time, the low part a counter.
type SessionIDs struct {
	host string
	hi   uint32
	lo   atomic.Uint32
}

// NewSessionIDs returns a Session-Id generator for a host.
func NewSessionIDs(originHost string) *SessionIDs {
	return &SessionIDs{host: originHost, hi: uint32(time.Now().Unix())}
}

// Next returns a fresh Session-Id.
func (s *SessionIDs) Next() string {
	return fmt.Sprintf("%s;%d;%d", s.host, s.hi, s.lo.Add(1))
}
