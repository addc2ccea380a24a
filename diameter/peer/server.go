package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Server accepts Diameter connections, answers CER/DWR/DPR itself and hands every other
// request to its Mux. It can also send requests to a connected peer (an HSS pushing a PNR).
type Server struct {
	opt Options

	mu     sync.Mutex
	conns  map[*Conn]struct{}
	closed bool
	ls     []net.Listener
	wg     sync.WaitGroup
}

// NewServer returns a Server; opt.Local must be valid and opt.Dict set.
func NewServer(opt Options) (*Server, error) {
	if opt.Dict == nil {
		return nil, errors.New("diameter server: no dictionary")
	}
	if err := opt.Local.Validate("diameter"); err != nil {
		return nil, err
	}
	return &Server{opt: opt.withDefaults(), conns: map[*Conn]struct{}{}}, nil
}

// ErrServerClosed is returned by Serve when the Server was closed before it started serving.
var ErrServerClosed = errors.New("diameter: server closed")

// Serve accepts connections on l until ctx ends or Close is called; it then disconnects
// every peer with DPR and returns nil.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.ls = append(s.ls, l)
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("diameter accept: %w", err)
			}
			// Anything else, such as running out of file descriptors under a connection
			// flood (EMFILE), passes: wait (5 ms doubling to 1 s) and accept again.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.opt.Log.Warn("diameter: accept failed, retrying", "err", err, "retry_in", delay)
			select {
			case <-ctx.Done():
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(ctx, nc)
		}()
	}
}

func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	c := newConn(nc, s.opt)
	if err := c.handshakeServer(ctx); err != nil {
		s.opt.Log.Warn("diameter: capabilities exchange failed", "remote", nc.RemoteAddr().String(), "err", err)
		nc.Close()
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close(context.Background())
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.opt.Log.Info("diameter: peer connected", "peer", c.remote.OriginHost, "remote", nc.RemoteAddr().String())
	c.serve(context.WithoutCancel(ctx))
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.opt.Log.Info("diameter: peer gone", "peer", c.remote.OriginHost, "err", c.Err())
}

// Peer returns an open connection whose peer has that Origin-Host.
func (s *Server) Peer(originHost string) (*Conn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.remote.OriginHost == originHost && !c.closing.Load() {
			return c, true
		}
	}
	return nil, false
}

// Peers lists the open connections.
func (s *Server) Peers() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// Close stops accepting, sends DPR to every peer and waits for the connections to end.
// It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ls := s.ls
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, l := range ls {
		l.Close()
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Close(context.Background())
		}()
	}
	wg.Wait()
	s.wg.Wait()
	return nil
}
