package sh

import (
	"errors"
	"fmt"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
)

// Errors of Sh operations. Each wraps the *peer.ResultError the HSS answered with, so
// errors.As can still reach the code. DIAMETER_ERROR_USER_UNKNOWN maps to as.ErrUnknownUser.
var (
	// ErrNotAllowed: the HSS refuses the operation for this user or AS (5101, 5102, 5103, 5104, 5002).
	ErrNotAllowed = errors.New("sh: operation not allowed")
	// ErrTransient: try again later (4100, 4101, and base 3002, 3004, 4xxx).
	ErrTransient = errors.New("sh: temporarily unavailable")
	// ErrOutOfSync: the repository data changed since it was read (5105).
	ErrOutOfSync = errors.New("sh: repository data out of sync")
	// ErrNoData: the repository data to subscribe to is not stored (5106).
	ErrNoData = errors.New("sh: subscribed data absent")
	// ErrRejected: any other error answer (5008, 5011, 5100, base 3xxx/5xxx).
	ErrRejected = errors.New("sh: request rejected")
)

// classify maps an answer's result to an error (nil on success); see the Err variables.
func classify(err error) error {
	var r *peer.ResultError
	if !errors.As(err, &r) {
		return err
	}
	var kind error
	switch {
	case r.Code == 0 && r.Experimental == dict.ErrorUserUnknown:
		kind = as.ErrUnknownUser
	case r.Code == 0 && r.Experimental == dict.ErrorTransparentDataOutOfSync:
		kind = ErrOutOfSync
	case r.Code == 0 && r.Experimental == dict.ErrorSubsDataAbsent:
		kind = ErrNoData
	case r.Code == 0 && (r.Experimental == dict.ErrorOperationNotAllowed || r.Experimental == dict.ErrorUserDataCannotBeRead ||
		r.Experimental == dict.ErrorUserDataCannotBeModified || r.Experimental == dict.ErrorUserDataCannotBeNotified ||
		r.Experimental == dict.ErrorIdentitiesDontMatch):
		kind = ErrNotAllowed
	case r.Code == 0 && r.Experimental.Transient():
		kind = ErrTransient
	case r.Code == dict.UnableToDeliver || r.Code == dict.TooBusy || (r.Code >= 4000 && r.Code < 5000):
		kind = ErrTransient
	default:
		kind = ErrRejected
	}
	return fmt.Errorf("%w: %w", kind, r)
}

// unavailable reports whether err means the HSS could not be asked or could not answer in
// time (as opposed to an answer saying no).
func unavailable(err error) bool {
	var r *peer.ResultError
	if errors.As(err, &r) {
		return errors.Is(err, ErrTransient)
	}
	return err != nil
}
