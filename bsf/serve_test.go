package bsf

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestServeHTTPClosesIdleConnections: Ub and the proxy get an idle and a read timeout
// (without them net/http keeps an idle keep-alive connection open for ever, and a flood of
// them exhausts the descriptors the listener needs); a connection that goes quiet after a
// request is closed once the idle timeout passes.
func TestServeHTTPClosesIdleConnections(t *testing.T) {
	tests := []struct {
		name     string
		srv      *http.Server
		idle     time.Duration
		readTime time.Duration
	}{
		{"defaults when unset", &http.Server{}, httpIdleTimeout, httpReadTimeout},
		{"explicit values kept", &http.Server{IdleTimeout: 200 * time.Millisecond, ReadTimeout: time.Second}, 200 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			tt.srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
			tt.srv.ReadHeaderTimeout = 10 * time.Second
			done := make(chan error, 1)
			go func() { done <- serveHTTP(t.Context(), tt.srv, l, nil) }()
			defer func() { tt.srv.Close(); <-done }()
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			r := bufio.NewReader(c)
			res, err := http.ReadResponse(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			if tt.srv.IdleTimeout != tt.idle || tt.srv.ReadTimeout != tt.readTime {
				t.Fatalf("IdleTimeout %v, ReadTimeout %v; want %v, %v", tt.srv.IdleTimeout, tt.srv.ReadTimeout, tt.idle, tt.readTime)
			}
			if tt.idle > time.Second {
				return
			}
			// The connection now idles: the server closes it.
			_, err = r.ReadByte()
			var ne net.Error
			if err == nil || errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("idle keep-alive connection still open (%v)", err)
			}
		})
	}
}
