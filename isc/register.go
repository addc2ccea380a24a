package isc

import (
	"context"
	"fmt"
	"strconv"

	"github.com/emiago/sipgo/sip"
	"github.com/imsps/imsps/as"
)

// Registrar learns of registrations from third-party REGISTERs (TS 24.229 §5.4.1.7).
// diameter/sh's Client implements it: the user state it caches changes, and the presence
// core hears of a de-registration.
type Registrar interface {
	Registration(ctx context.Context, impu as.AOR, registered bool)
}

// Option configures optional parts of a Server.
type Option func(*Server)

// WithRegistrar makes the server accept third-party REGISTER requests from trusted S-CSCFs
// and report them to r. Without it REGISTER is answered 405.
func WithRegistrar(r Registrar) Option {
	return func(s *Server) {
		s.allow += ", REGISTER"
		s.sip.OnRegister(s.handle(func(ctx context.Context, req *sip.Request) (reply, error) {
			return s.register(ctx, req, r)
		}))
	}
}

// register handles a third-party REGISTER (TS 24.229 §5.4.1.7): To names the registered
// public identity, Expires the registration's lifetime, 0 meaning de-registration. Only a
// trusted S-CSCF may send one.
func (s *Server) register(ctx context.Context, req *sip.Request, r Registrar) (reply, error) {
	if !s.trustedSource(req.Source()) {
		return reply{}, fmt.Errorf("third-party REGISTER from untrusted %s: %w", req.Source(), as.ErrForbidden)
	}
	f := readFields(req)
	if err := checkRequire(f.require); err != nil {
		return reply{}, err
	}
	to := req.To()
	if to == nil {
		return reply{}, &as.BadRequestError{Reason: "REGISTER without To"}
	}
	impu, err := as.ParseAOR(to.Address.String())
	if err != nil {
		return reply{}, &as.BadRequestError{Reason: "To: " + err.Error()}
	}
	expires := -1
	if f.hasExpires {
		if expires, err = parseExpires(f.expires); err != nil {
			return reply{}, err
		}
	}
	if c := req.Contact(); expires < 0 && c != nil {
		if v, ok := c.Params.Get("expires"); ok {
			if expires, err = parseExpires(v); err != nil {
				return reply{}, err
			}
		}
	}
	registered := expires != 0
	r.Registration(ctx, impu, registered)
	s.log.Info("third-party registration", "impu", impu, "registered", registered)
	res := s.ok(req)
	if expires >= 0 {
		setHeader(res, hdrExpires, strconv.Itoa(expires))
	}
	return reply{res: res}, nil
}
