package isc

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsps/imsps/as"
)

// publish handles PUBLISH (RFC 3903 §6): it builds the domain request from the wire, lets
// the presence core process it, and answers 200 with SIP-ETag and Expires.
func (s *Server) publish(ctx context.Context, req *sip.Request) (reply, error) {
	pr, err := s.publishRequest(req)
	if err != nil {
		return reply{}, err
	}
	result, err := s.p.Publish(ctx, pr)
	if err != nil {
		return reply{}, fmt.Errorf("publish for %s: %w", pr.Presentity, err)
	}
	res := s.ok(req)
	if !safeValue(result.ETag) {
		return reply{}, fmt.Errorf("publish for %s: presence core returned an unusable entity-tag", pr.Presentity)
	}
	if result.ETag != "" {
		setHeader(res, hdrSIPETag, result.ETag)
	}
	setHeader(res, hdrExpires, strconv.Itoa(seconds(result.Expires)))
	s.log.Debug("published", "aor", logAOR(pr.Presentity), "etag", result.ETag, "expires", seconds(result.Expires))
	return reply{res: res}, nil
}

// publishRequest reads a PUBLISH into an as.PublishRequest.
func (s *Server) publishRequest(req *sip.Request) (as.PublishRequest, error) {
	pr := as.PublishRequest{Expires: -1}
	f := readFields(req)
	if err := checkRequire(f.require); err != nil {
		return pr, err
	}
	pr.Presentity = uriString(s.requestTarget(req))
	pr.Publisher, _ = s.identity(req, f.assertedIdentity)
	if f.hasEvent {
		ev, err := parseEvent(f.event)
		if err != nil {
			return pr, err
		}
		pr.Event = ev.Package
	}
	if f.hasExpires {
		n, err := parseExpires(f.expires)
		if err != nil {
			return pr, err
		}
		pr.Expires = n
	}
	if f.hasIfMatch {
		tag, err := parseIfMatch(f.ifMatch)
		if err != nil {
			return pr, err
		}
		pr.IfMatch = tag
	}
	if body := req.Body(); len(body) > 0 {
		ct, err := contentType(req)
		if err != nil {
			return pr, err
		}
		pr.ContentType, pr.Body = ct, body
	}
	return pr, nil
}

// seconds is a granted duration as delta-seconds (rounded down, never negative).
func seconds(d time.Duration) int {
	if d < 0 {
		return 0
	}
	return int(d / time.Second)
}
