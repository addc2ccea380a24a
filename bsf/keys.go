package bsf

import (
	"context"
	"time"
)

// KeyService gives a NAF the key material of a bootstrapping session for one NAF_Id: the Zn
// Bootstrapping-Info exchange (TS 29.109 §6.2), or the BSF answering in process.
type KeyService interface {
	// NAFKey returns Ks_NAF for a B-TID and a NAF_Id (FQDN ‖ Ua security protocol id). It
	// fails with ErrBTIDUnknown (5403) or ErrNAFNotAllowed (5402).
	NAFKey(ctx context.Context, btid, nafID string) (NAFKey, error)
}

// NAFKey is what a BIA carries (TS 29.109 §6.2.2).
type NAFKey struct {
	BTID    string
	IMPI    string    // User-Name
	Key     []byte    // ME-Key-Material: Ks_(ext)_NAF, 32 octets
	Created time.Time // BootstrapInfoCreationTime
	Expires time.Time // Key-ExpiryTime
	USS     []USS     // GBA-UserSecSettings for this NAF
}

// Identities lists the public identities the USS allow the user to assert.
func (k NAFKey) Identities() []string { return ussIdentities(k.USS) }
