package bsf_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imsps/imsps/bsf"
	"github.com/imsps/imsps/bsf/bsftest"
)

// selfSigned writes a certificate for 127.0.0.1 and localhost and returns its files and pool.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "xcap.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestUtOverTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	tests := []struct {
		name   string
		suites []uint16 // client offer (TLS 1.2); nil: TLS 1.3 defaults
		max    uint16
	}{
		{"TS 33.222 §5.3: Ua id 01 00 01 ‖ TLS 1.2 ECDHE-ECDSA-AES128-GCM", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, tls.VersionTLS12},
		{"TS 33.222 §5.3: Ua id 01 00 01 ‖ TLS 1.3 suite", nil, tls.VersionTLS13},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := startLab(t, func(_ *bsf.Config, p *bsf.AuthProxyConfig) {
				p.TLS.CertFile, p.TLS.KeyFile = certFile, keyFile
			})
			ue := bsftest.NewUE("alice@example.com", demoK, demoOPc)
			if err := ue.Bootstrap(t.Context(), l.ubURL); err != nil {
				t.Fatal(err)
			}
			ue.Client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
				RootCAs: pool, CipherSuites: tc.suites, MaxVersion: tc.max,
			}}}
			resp, _ := do(t, ue, http.MethodPut, l.proxyURL+alicePIDF, []byte(pidfDoc), nil)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("PUT over TLS: %s", resp.Status)
			}
			if a, _ := l.rec.last(); a != `"sip:alice@example.com"` {
				t.Errorf("asserted %q", a)
			}
		})
	}
}
