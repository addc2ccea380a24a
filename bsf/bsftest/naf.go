package bsftest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/icholy/digest"

	"github.com/imsps/imsps/bsf"
)

// realmPrefix marks a GBA_ME NAF challenge (TS 24.109 §5.2.2).
const realmPrefix = "3GPP-bootstrapping@"

// Do sends req to a NAF with GBA Digest (TS 24.109 §5.2.2): username = B-TID, password =
// base64(Ks_NAF) for NAF_Id = the challenge realm's FQDN ‖ the Ua security protocol id of
// the connection. A 401 that rejects the current B-TID makes the UE bootstrap again with the
// last Ub URL and retry once. req must be replayable (GetBody set, as http.NewRequest does).
func (u *UE) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	req = req.WithContext(ctx)
	rebootstrapped := false
	for attempt := 0; attempt < 4; attempt++ {
		r, err := u.prepare(req)
		if err != nil {
			return nil, err
		}
		resp, err := u.client().Do(r)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusUnauthorized {
			return resp, nil
		}
		chal, err := digest.ParseChallenge(resp.Header.Get("WWW-Authenticate"))
		if err != nil || !strings.HasPrefix(chal.Realm, realmPrefix) {
			return resp, nil
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ua := bsf.UaHTTPDigest
		if resp.TLS != nil {
			ua = bsf.UaHTTPDigestTLS(resp.TLS.CipherSuite)
		}
		nafID := bsf.NAFID(strings.TrimPrefix(chal.Realm, realmPrefix), ua)
		u.mu.Lock()
		prev := u.nafChal[nafID]
		hadBTID := u.btid != ""
		u.nafChal[nafID] = &nafChallenge{chal: chal}
		ubURL := u.ubURL
		u.mu.Unlock()
		// A second plain 401 for the same B-TID means the NAF rejected it: bootstrap again.
		if (!hadBTID || (prev != nil && !chal.Stale)) && !rebootstrapped {
			if ubURL == "" {
				return nil, errors.New("bsftest: NAF needs a B-TID and no Ub URL is known; call Bootstrap first")
			}
			if err := u.Bootstrap(ctx, ubURL); err != nil {
				return nil, fmt.Errorf("re-bootstrap: %w", err)
			}
			rebootstrapped = true
			u.mu.Lock()
			u.nafChal[nafID] = &nafChallenge{chal: chal}
			u.mu.Unlock()
		}
	}
	return nil, errors.New("bsftest: NAF keeps answering 401")
}

// prepare clones req and adds Authorization from the NAF challenge known for its host.
func (u *UE) prepare(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	host := r.URL.Hostname()
	for nafID, nc := range u.nafChal {
		fqdn, _, _ := bsf.SplitNAFID(nafID)
		if fqdn != host || u.btid == "" {
			continue
		}
		nc.nc++
		password := base64.StdEncoding.EncodeToString(bsf.KsNAF(u.ks, u.rand, u.IMPI, nafID))
		cred, err := digest.Digest(nc.chal, digest.Options{
			Method: r.Method, URI: r.URL.RequestURI(), GetBody: req.GetBody,
			Count: nc.nc, Username: u.btid, Password: password,
		})
		if err != nil {
			return nil, err
		}
		r.Header.Set("Authorization", cred.String())
		break
	}
	return r, nil
}
