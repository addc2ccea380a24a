package isc

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsps/imsps/as"
)

// SIP status codes imsps answers with; sipgo lacks 412 and 489 and spells 423 differently.
const (
	StatusOK                       = 200
	StatusBadRequest               = 400
	StatusForbidden                = 403
	StatusNotFound                 = 404
	StatusMethodNotAllowed         = 405
	StatusNotAcceptable            = 406
	StatusConditionalRequestFailed = 412 // RFC 3903 §11.2.1
	StatusRequestEntityTooLarge    = 413 // RFC 3261 §21.4.11
	StatusUnsupportedMediaType     = 415
	StatusBadExtension             = 420
	StatusIntervalTooBrief         = 423 // RFC 3261 §21.4.17
	StatusCallDoesNotExist         = 481
	StatusBadEvent                 = 489 // RFC 6665 §8.3.2
	StatusServerInternalError      = 500
	StatusServiceUnavailable       = 503
)

// reasonPhrase returns the RFC reason phrase of the codes above.
func reasonPhrase(code int) string {
	switch code {
	case StatusOK:
		return "OK"
	case StatusBadRequest:
		return "Bad Request"
	case StatusForbidden:
		return "Forbidden"
	case StatusNotFound:
		return "Not Found"
	case StatusMethodNotAllowed:
		return "Method Not Allowed"
	case StatusNotAcceptable:
		return "Not Acceptable"
	case StatusConditionalRequestFailed:
		return "Conditional Request Failed"
	case StatusRequestEntityTooLarge:
		return "Request Entity Too Large"
	case StatusUnsupportedMediaType:
		return "Unsupported Media Type"
	case StatusBadExtension:
		return "Bad Extension"
	case StatusIntervalTooBrief:
		return "Interval Too Brief"
	case StatusCallDoesNotExist:
		return "Call/Transaction Does Not Exist"
	case StatusBadEvent:
		return "Bad Event"
	case StatusServiceUnavailable:
		return "Service Unavailable"
	}
	return "Server Internal Error"
}

// mediaPIDF is the only body type of the presence event package (RFC 3856 §6.6).
const mediaPIDF = "application/pidf+xml"

// defaultRetryAfter is used for 503 when the cause names no delay.
const defaultRetryAfter = 5 * time.Second

// errorResponse is the one place that turns an error into a SIP response: the status code
// and the headers the code calls for (Allow-Events, Accept, Min-Expires, Warning,
// Retry-After). It reports whether the error was unexpected (a 500), for logging.
func (s *Server) errorResponse(req *sip.Request, err error) (res *sip.Response, unexpected bool) {
	var (
		tooBrief    *as.IntervalTooBriefError
		badRequest  *as.BadRequestError
		unavailable *as.DirectoryUnavailableError
		unsupported *unsupportedExtensionError
	)
	code := StatusServerInternalError
	var extra [][2]string
	switch {
	case errors.Is(err, as.ErrNotServed), errors.Is(err, as.ErrUnknownUser):
		code = StatusNotFound
	case errors.Is(err, as.ErrBadEvent):
		code = StatusBadEvent
		extra = append(extra, [2]string{hdrAllowEvents, strings.Join(s.p.Packages(), ", ")})
	case errors.Is(err, as.ErrNoSuchETag):
		code = StatusConditionalRequestFailed
	case errors.Is(err, as.ErrUnsupportedMediaType):
		code = StatusUnsupportedMediaType
		extra = append(extra, [2]string{hdrAccept, mediaPIDF})
	case errors.Is(err, as.ErrNotAcceptable):
		code = StatusNotAcceptable
		extra = append(extra, [2]string{hdrAccept, mediaPIDF})
	case errors.Is(err, as.ErrNoSuchSubscription):
		code = StatusCallDoesNotExist
	case errors.Is(err, as.ErrTooLarge):
		code = StatusRequestEntityTooLarge
	case errors.Is(err, as.ErrForbidden):
		code = StatusForbidden
	case errors.As(err, &tooBrief):
		code = StatusIntervalTooBrief
		extra = append(extra, [2]string{hdrMinExpires, strconv.Itoa(ceilSeconds(tooBrief.Min))})
	case errors.As(err, &badRequest):
		code = StatusBadRequest
		extra = append(extra, [2]string{hdrWarning, s.warning(badRequest.Reason)})
	case errors.Is(err, errHeader):
		code = StatusBadRequest
		extra = append(extra, [2]string{hdrWarning, s.warning(err.Error())})
	case errors.As(err, &unsupported):
		code = StatusBadExtension
		extra = append(extra, [2]string{"Unsupported", strings.Join(unsupported.Options, ", ")})
	case errors.As(err, &unavailable):
		code = StatusServiceUnavailable
		extra = append(extra, [2]string{hdrRetryAfter, strconv.Itoa(max(1, ceilSeconds(unavailable.RetryAfter)))})
	case errors.Is(err, as.ErrOverloaded), errors.Is(err, errDraining):
		code = StatusServiceUnavailable
		extra = append(extra, [2]string{hdrRetryAfter, strconv.Itoa(ceilSeconds(defaultRetryAfter))})
	}
	res = sip.NewResponseFromRequest(req, code, reasonPhrase(code), nil)
	for _, h := range extra {
		setHeader(res, h[0], h[1])
	}
	s.commonHeaders(res)
	return res, code == StatusServerInternalError
}

// warning formats a Warning value (RFC 3261 §20.43): 399 <our host> "<text>".
func (s *Server) warning(text string) string {
	text = strings.Map(func(r rune) rune {
		switch r {
		case '"', '\\':
			return '\''
		case '\r', '\n', '\x00':
			return ' '
		}
		return r
	}, text)
	if len(text) > 200 {
		text = text[:200]
	}
	return `399 ` + s.warnAgent() + ` "` + text + `"`
}

// ceilSeconds rounds d up to whole seconds.
func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// unsupportedExtensionError is returned for a Require naming an option imsps lacks (420).
type unsupportedExtensionError struct{ Options []string }

func (e *unsupportedExtensionError) Error() string {
	return "unsupported extension " + strings.Join(e.Options, ", ")
}
