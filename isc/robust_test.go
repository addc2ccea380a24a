package isc_test

import (
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/imsps/imsps/isc/isctest"
)

// emfileListener fails its first n Accepts the way a process out of file descriptors does.
type emfileListener struct {
	net.Listener
	fail atomic.Int32
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.fail.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestTCPListenerSurvivesAcceptErrors: a connection flood that exhausts file descriptors
// makes accept fail with EMFILE; the TCP listener must keep accepting once descriptors are
// free again (before, the first such error ended the SIP stack's accept loop and Serve).
func TestTCPListenerSurvivesAcceptErrors(t *testing.T) {
	var l *emfileListener
	_, tcp := isctest.Start(t, isctest.WithTCPListener(func(inner net.Listener) net.Listener {
		l = &emfileListener{Listener: inner}
		l.fail.Store(5)
		return l
	}))
	ua := isctest.NewUA(t, "TCP")
	res := publish(t, ua, tcp, "sip:alice@example.com", pidf("sip:alice@example.com", "t1=open"), "Expires: 600")
	if res.StatusCode != sip.StatusOK {
		t.Fatalf("PUBLISH over TCP after accept errors: %d %s", res.StatusCode, res.Reason)
	}
	if l.fail.Load() >= 0 {
		t.Fatal("the injected accept errors were not hit")
	}
}
