package sh

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
)

// lockedBuffer collects the daemon's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestInteropFreeDiameter: the Sh client completes CER/CEA, DWR/DWA and DPR/DPA with a
// freeDiameterd peer (Debian package freediameter) configured here on loopback, without TLS.
func TestInteropFreeDiameter(t *testing.T) {
	daemon, err := exec.LookPath("freeDiameterd")
	if err != nil {
		t.Fatal("freeDiameterd not installed (apt-get install -y freediameter): ", err)
	}
	ext := "/usr/lib/freeDiameter/acl_wl.fdx"
	if _, err := os.Stat(ext); err != nil {
		if m, _ := filepath.Glob("/usr/lib/*/freeDiameter/acl_wl.fdx"); len(m) > 0 {
			ext = m[0]
		} else {
			t.Fatal("acl_wl.fdx not found (package freediameter-extensions): ", err)
		}
	}
	dir := t.TempDir()
	writeSelfSigned(t, dir, "hss.example.com")
	// freeDiameterd binds its own port: take a free one from the kernel and hand it over.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	acl := filepath.Join(dir, "acl.conf")
	if err := os.WriteFile(acl, []byte("ALLOW_OLD_TLS ALLOW_IPSEC *.example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`Identity = "hss.example.com";
Realm = "example.com";
Port = %d;
SecPort = 0;
No_SCTP;
No_IPv6;
ListenOn = "127.0.0.1";
TLS_Cred = "%s", "%s";
TLS_CA = "%s";
LoadExtension = "%s" : "%s";
`, port, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem"), ext, acl)
	confFile := filepath.Join(dir, "freeDiameter.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	cmd := exec.CommandContext(t.Context(), daemon, "-c", confFile)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("freeDiameterd log:\n%s", log.String())
		}
	})

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cfg := testConfig(addr)
	cfg.Peers[0] = peer.PeerConfig{Addr: addr, Host: "hss.example.com", Realm: "example.com"}
	cfg.Watchdog = 100 * time.Millisecond
	cnt := newCounter()
	c, err := New(cfg, testLog(t), WithTap(cnt.tap))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { c.Run(t.Context()); close(done) }()
	// The client retries until the daemon listens: no sleep needed.
	if err := c.Peers().WaitConnected(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if cnt.count(0, dict.CapabilitiesExchange, 0) < 1 {
		t.Fatal("no CEA seen")
	}
	// RFC 3539: our DWR after Tw of silence, answered with DWA; twice.
	for cnt.count(0, dict.DeviceWatchdog, 0) < 2 {
		select {
		case <-cnt.ch:
		case <-t.Context().Done():
			t.Fatal("no DWA from freeDiameterd")
		}
	}
	c.Close()
	<-done
	if cnt.count(1, dict.DisconnectPeer, 0x80) != 1 || cnt.count(0, dict.DisconnectPeer, 0) != 1 {
		t.Fatalf("DPR/DPA not exchanged: %v", cnt.n)
	}
	if !strings.Contains(log.String(), "as.example.com") {
		t.Fatalf("freeDiameterd never saw us:\n%s", log.String())
	}
}

func writeSelfSigned(t *testing.T, dir, cn string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		DNSNames:              []string{cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}
