package bsf_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imsps/imsps/bsf/bsftest"
)

// BenchmarkUtGET measures XCAP GETs through the authentication proxy with a cached Ks_NAF
// (one B-TID, nonce reused with increasing nc) against GETs straight to the same handler.
func BenchmarkUtGET(b *testing.B) {
	b.Run("proxy-gba-cached", func(b *testing.B) {
		l := startLab(b, nil)
		l.rec.docs[alicePIDF] = []byte(pidfDoc)
		ue := l.ue(b, "alice@example.com")
		url := l.proxyURL + alicePIDF
		get := func() {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			resp, err := ue.Do(b.Context(), req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatal(resp.Status)
			}
		}
		get() // the first GET takes the 401 and fills the key cache
		for b.Loop() {
			get()
		}
	})
	b.Run("direct", func(b *testing.B) {
		rec := newRecorder()
		rec.docs[alicePIDF] = []byte(pidfDoc)
		srv := httptest.NewServer(rec)
		defer srv.Close()
		url := srv.URL + alicePIDF
		for b.Loop() {
			resp, err := http.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/pidf") {
				b.Fatal(resp.Status)
			}
		}
	})
}

// BenchmarkUbBootstrap measures complete Ub runs (401 + 200, one stored session each).
func BenchmarkUbBootstrap(b *testing.B) {
	l := startLab(b, nil)
	for b.Loop() {
		ue := bsftest.NewUE("alice@example.com", demoK, demoOPc)
		if err := ue.Bootstrap(b.Context(), l.ubURL); err != nil {
			b.Fatal(err)
		}
	}
}
