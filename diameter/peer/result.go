package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imsps/imsps/diameter/dict"
)

// ResultError is a Diameter answer other than success: a base Result-Code, or an
// Experimental-Result (Result-Code absent), as TS 29.329 §6.2 and TS 29.109 §6.3 send them.
// Handlers return it to have the matching error answer written; clients get it from ResultOf.
type ResultError struct {
	Code         dict.ResultCode         // base Result-Code; 0 when Experimental is set
	Experimental dict.ExperimentalResult // zero when Code is set
	Message      string                  // Error-Message
	FailedAVP    []*diam.AVP             // offending AVPs, for Failed-AVP
}

func (e *ResultError) Error() string {
	s := e.Code.String()
	if e.Code == 0 {
		s = e.Experimental.String()
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is matches another *ResultError with the same code, so errors.Is(err, peer.Experimental(x)) works.
func (e *ResultError) Is(target error) bool {
	t, ok := target.(*ResultError)
	return ok && t.Code == e.Code && t.Experimental == e.Experimental
}

// Result returns a ResultError for a base Result-Code.
func Result(code dict.ResultCode, msg string, failed ...*diam.AVP) *ResultError {
	return &ResultError{Code: code, Message: msg, FailedAVP: failed}
}

// Experimental returns a ResultError for an Experimental-Result.
func Experimental(r dict.ExperimentalResult) *ResultError {
	return &ResultError{Experimental: r}
}

// ResultOf reads an answer's Result-Code or Experimental-Result: nil for 2xxx, a *ResultError otherwise.
func ResultOf(a *diam.Message) error {
	if rc, ok := Uint32(Find(a.AVP, dict.AVPResultCode, 0)); ok {
		if rc >= 2000 && rc < 3000 {
			return nil
		}
		msg, _ := String(Find(a.AVP, dict.AVPErrorMessage, 0))
		return &ResultError{Code: dict.ResultCode(rc), Message: msg}
	}
	if er := Find(a.AVP, dict.AVPExperimentalResult, 0); er != nil {
		vendor, _ := Uint32(Find(Children(er), dict.AVPVendorID, 0))
		code, ok := Uint32(Find(Children(er), dict.AVPExperimentalResultCode, 0))
		if ok {
			if code >= 2000 && code < 3000 {
				return nil
			}
			msg, _ := String(Find(a.AVP, dict.AVPErrorMessage, 0))
			return &ResultError{Experimental: dict.ExperimentalResult{Vendor: vendor, Code: code}, Message: msg}
		}
	}
	return fmt.Errorf("answer %d without Result-Code or Experimental-Result: %w", a.Header.CommandCode, ErrMalformed)
}

// Handler serves one kind of Diameter request. It returns the answer (built with NewAnswer),
// or an error: a *ResultError becomes that error answer, anything else DIAMETER_UNABLE_TO_COMPLY.
// Handlers run in their own goroutine, never in the connection's read loop.
type Handler interface {
	ServeDiameter(ctx context.Context, req *diam.Message) (*diam.Message, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req *diam.Message) (*diam.Message, error)

// ServeDiameter calls f.
func (f HandlerFunc) ServeDiameter(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	return f(ctx, req)
}

// Mux routes requests by application and command code. A request with no handler is
// answered DIAMETER_COMMAND_UNSUPPORTED (3001); one for an application the parser does
// not hold, DIAMETER_APPLICATION_UNSUPPORTED (3007).
type Mux struct {
	h map[diam.CommandIndex]Handler
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{h: map[diam.CommandIndex]Handler{}} }

// Handle registers h for requests of code in app.
func (m *Mux) Handle(app dict.App, code uint32, h Handler) {
	m.h[diam.CommandIndex{AppID: uint32(app), Code: code, Request: true}] = h
}

// HandleIdx registers h for a command index (only requests are served).
func (m *Mux) HandleIdx(idx diam.CommandIndex, h Handler) {
	idx.Request = true
	m.h[idx] = h
}

// HandleFunc registers f for requests of code in app.
func (m *Mux) HandleFunc(app dict.App, code uint32, f func(ctx context.Context, req *diam.Message) (*diam.Message, error)) {
	m.Handle(app, code, HandlerFunc(f))
}

func (m *Mux) lookup(app, code uint32) Handler {
	if m == nil {
		return nil
	}
	return m.h[diam.CommandIndex{AppID: app, Code: code, Request: true}]
}

// NewAnswer starts the answer to req: same command, application and identifiers; Session-Id,
// Vendor-Specific-Application-Id and Auth-Session-State copied from the request;
// Result-Code 2001; Origin-Host and Origin-Realm of the local identity in ctx.
func NewAnswer(ctx context.Context, req *diam.Message) *diam.Message {
	return answer(ctx, req, nil)
}

func answer(ctx context.Context, req *diam.Message, rerr *ResultError) *diam.Message {
	local, _ := LocalFromContext(ctx)
	flags := req.Header.CommandFlags &^ (diam.RequestFlag | diam.RetransmittedFlag | diam.ErrorFlag)
	if rerr != nil && rerr.Code >= 3000 && rerr.Code < 4000 {
		flags |= diam.ErrorFlag // RFC 6733 §7.2: protocol errors set the E bit
	}
	a := diam.NewMessage(req.Header.CommandCode, flags, req.Header.ApplicationID,
		req.Header.HopByHopID, req.Header.EndToEndID, req.Dictionary())
	if s := Find(req.AVP, dict.AVPSessionID, 0); s != nil {
		a.AddAVP(s)
	}
	if v := Find(req.AVP, dict.AVPVendorSpecificApplicationID, 0); v != nil {
		a.AddAVP(v)
	}
	switch {
	case rerr == nil:
		a.AddAVP(Base(dict.AVPResultCode, datatype.Unsigned32(dict.Success)))
	case rerr.Code != 0:
		a.AddAVP(Base(dict.AVPResultCode, datatype.Unsigned32(rerr.Code)))
	default:
		a.AddAVP(Base(dict.AVPExperimentalResult, &diam.GroupedAVP{AVP: []*diam.AVP{
			Base(dict.AVPVendorID, datatype.Unsigned32(rerr.Experimental.Vendor)),
			Base(dict.AVPExperimentalResultCode, datatype.Unsigned32(rerr.Experimental.Code)),
		}}))
	}
	if s := Find(req.AVP, dict.AVPAuthSessionState, 0); s != nil {
		a.AddAVP(s)
	}
	a.AddAVP(Base(dict.AVPOriginHost, datatype.DiameterIdentity(local.OriginHost)))
	a.AddAVP(Base(dict.AVPOriginRealm, datatype.DiameterIdentity(local.OriginRealm)))
	if rerr != nil {
		if rerr.Message != "" {
			a.AddAVP(diam.NewAVP(dict.AVPErrorMessage, 0, 0, datatype.UTF8String(rerr.Message)))
		}
		if len(rerr.FailedAVP) > 0 {
			a.AddAVP(Base(dict.AVPFailedAVP, &diam.GroupedAVP{AVP: rerr.FailedAVP}))
		}
	}
	return a
}

// ErrorAnswer builds the error answer to req for err (see Handler).
func ErrorAnswer(ctx context.Context, req *diam.Message, err error) *diam.Message {
	var rerr *ResultError
	if !errors.As(err, &rerr) {
		rerr = Result(dict.UnableToComply, "")
	}
	return answer(ctx, req, rerr)
}

// RequireAVPs returns a DIAMETER_MISSING_AVP (5005) ResultError naming the first missing
// top-level AVP among codes (vendor 0 for base AVPs), or nil.
func RequireAVPs(req *diam.Message, avps ...[2]uint32) error {
	for _, cv := range avps {
		if Find(req.AVP, cv[0], cv[1]) == nil {
			name := fmt.Sprint(cv[0])
			var data datatype.Type = datatype.OctetString("")
			if d, err := req.Dictionary().FindAVPWithVendor(req.Header.ApplicationID, cv[0], cv[1]); err == nil {
				name = d.Name
				data = zero(d.Data.Type)
			}
			// RFC 6733 §7.5: Failed-AVP carries an example of the missing AVP, with a minimal value.
			return Result(dict.MissingAVP, "missing "+name, diam.NewAVP(cv[0], flagsFor(cv[1]), cv[1], data))
		}
	}
	return nil
}

func zero(t datatype.TypeID) datatype.Type {
	switch t {
	case datatype.GroupedType:
		return &diam.GroupedAVP{}
	case datatype.EnumeratedType:
		return datatype.Enumerated(0)
	case datatype.Unsigned32Type:
		return datatype.Unsigned32(0)
	case datatype.Unsigned64Type:
		return datatype.Unsigned64(0)
	case datatype.Integer32Type:
		return datatype.Integer32(0)
	case datatype.TimeType:
		return datatype.Time(time.Unix(0, 0))
	case datatype.UTF8StringType:
		return datatype.UTF8String("")
	case datatype.DiameterIdentityType:
		return datatype.DiameterIdentity("")
	case datatype.AddressType:
		return datatype.Address(net.IPv4zero.To4())
	}
	return datatype.OctetString("")
}

func flagsFor(vendor uint32) uint8 {
	if vendor != 0 {
		return vbit | mbit
	}
	return mbit
}

// Errors of the peer layer.
var (
	// ErrNoPeer is returned when no connected peer can take a request before its deadline.
	ErrNoPeer = errors.New("diameter: no connected peer for the request")
	// ErrClosed is returned when the connection closed before the answer arrived.
	ErrClosed = errors.New("diameter: connection closed")
	// ErrMalformed is returned for messages that cannot be decoded.
	ErrMalformed = errors.New("diameter: malformed message")
	// ErrHandshake is returned when the capabilities exchange fails (RFC 6733 §5.3).
	ErrHandshake = errors.New("diameter: capabilities exchange failed")
)
