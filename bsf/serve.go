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
