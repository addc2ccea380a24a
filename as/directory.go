package as

import (
	"context"
	"errors"
	"time"
)

// Directory tells who exists: the subscriber data an HSS holds (TS 29.328 over Sh).
// diameter/sh implements it; tests use a fake.
type Directory interface {
	// Lookup returns the subscriber that owns the public identity impu, with every
	// identity of its implicit set and aliases (Sh UDR, IMSPublicIdentity with Identity-Set).
	// It returns an error wrapping ErrUnknownUser when the HSS knows no such identity, and a
	// *DirectoryUnavailableError when the HSS cannot be reached in time.
	Lookup(ctx context.Context, impu AOR) (Subscriber, error)
}

// Subscriber is one IMS subscription as the presence server needs it.
type Subscriber struct {
	// Presentity is the identity all of the subscriber's aliases share presence state under:
	// the first SIP URI of the implicit registration set, or the identity itself.
	Presentity AOR
	// Identities are all public identities of the subscriber (SIP and tel URIs).
	Identities []AOR
	State      UserState
}

// UserState is the IMS user state of TS 29.328 (Sh-Data IMSUserState).
type UserState int

// The IMSUserState values of TS 29.328 §7.6.
const (
	NotRegistered           UserState = 0
	Registered              UserState = 1
	RegisteredUnregServices UserState = 2
	AuthenticationPending   UserState = 3
)

func (s UserState) String() string {
	switch s {
	case NotRegistered:
		return "NOT_REGISTERED"
	case Registered:
		return "REGISTERED"
	case RegisteredUnregServices:
		return "REGISTERED_UNREG_SERVICES"
	case AuthenticationPending:
		return "AUTHENTICATION_PENDING"
	}
	return "UNKNOWN"
}

// ErrUnknownUser is returned when the directory knows no subscriber with that identity
// (Sh DIAMETER_ERROR_USER_UNKNOWN 5001).
var ErrUnknownUser = errors.New("unknown user")

// DirectoryUnavailableError is returned when the subscriber directory could not answer in
// time; callers answer 503 with Retry-After.
type DirectoryUnavailableError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *DirectoryUnavailableError) Error() string {
	return "subscriber directory unavailable: " + e.Err.Error()
}

func (e *DirectoryUnavailableError) Unwrap() error { return e.Err }

// UserStateListener is told when the directory learns that a subscriber's state changed
// (Sh PNR, or a third-party REGISTER). The presence core implements it.
type UserStateListener interface {
	UserStateChanged(ctx context.Context, impu AOR, state UserState)
}
