package bsf

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"
)

// serveHTTP serves srv on l (with TLS when tlsCfg is set) until ctx ends, then shuts down.
func serveHTTP(ctx context.Context, srv *http.Server, l net.Listener, tlsCfg *tls.Config) error {
	// A client may not hold a connection without sending: net/http keeps an idle keep-alive
	// connection, and one whose body trickles in, open for ever unless told otherwise, and
	// enough of them exhaust the file descriptors the listener needs.
	if srv.IdleTimeout == 0 {
		srv.IdleTimeout = httpIdleTimeout
	}
	if srv.ReadTimeout == 0 {
		srv.ReadTimeout = httpReadTimeout
	}
	if tlsCfg != nil {
		l = tls.NewListener(l, tlsCfg)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-errc
		return nil
	}
}

// Timeouts of the Ub and proxy HTTP servers (ReadHeaderTimeout is set by each).
const (
	httpIdleTimeout = 2 * time.Minute  // between requests on a keep-alive connection
	httpReadTimeout = 60 * time.Second // to read a whole request, body included
)
