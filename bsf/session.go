package bsf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/imsps/imsps/as"
)

// Bootstrap is one bootstrapping session (TS 33.220 §4.5.2), stored under its B-TID in
// as.BucketBootstrap as JSON.
type Bootstrap struct {
	BTID    string    `json:"btid"`
	IMPI    string    `json:"impi"`
	Ks      []byte    `json:"ks"`
	RAND    []byte    `json:"rand"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	GUSS    GUSS      `json:"guss"`
}

// ErrBTIDUnknown is returned for a B-TID that names no live bootstrapping session: unknown
// or expired (Zn DIAMETER_ERROR_TRANSACTION_IDENTIFIER_INVALID 5403). The NAF answers 401
// so that the UE bootstraps again (TS 24.109 §5.3.2).
var ErrBTIDUnknown = errors.New("B-TID unknown or expired")

// ErrNAFNotAllowed is returned when the BSF does not serve the requesting NAF
// (Zn DIAMETER_ERROR_NOT_AUTHORIZED 5402).
var ErrNAFNotAllowed = errors.New("NAF not authorised by the BSF")

// sessions keeps bootstrapping sessions in an as.Store.
type sessions struct {
	store as.Store
}

func (s sessions) put(ctx context.Context, b Bootstrap) error {
	v, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("store bootstrap %s: %w", b.BTID, err)
	}
	err = s.store.Update(ctx, func(tx as.Tx) error {
		return tx.Put(as.BucketBootstrap, b.BTID, v)
	})
	if err != nil {
		return fmt.Errorf("store bootstrap %s: %w", b.BTID, err)
	}
	return nil
}

// get returns the live session of a B-TID; ErrBTIDUnknown when absent or expired at now.
func (s sessions) get(ctx context.Context, btid string, now time.Time) (Bootstrap, error) {
	var b Bootstrap
	found := false
	err := s.store.View(ctx, func(tx as.Tx) error {
		v := tx.Get(as.BucketBootstrap, btid)
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &b)
	})
	if err != nil {
		return Bootstrap{}, fmt.Errorf("load bootstrap %s: %w", btid, err)
	}
	if !found || !now.Before(b.Expires) {
		return Bootstrap{}, fmt.Errorf("bootstrap %s: %w", btid, ErrBTIDUnknown)
	}
	return b, nil
}

// sweep deletes every session expired at now and returns how many it deleted.
func (s sessions) sweep(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.store.Update(ctx, func(tx as.Tx) error {
		n = 0
		var expired []string
		err := tx.ForEach(as.BucketBootstrap, "", func(k string, v []byte) error {
			var b struct {
				Expires time.Time `json:"expires"`
			}
			if json.Unmarshal(v, &b) != nil || !now.Before(b.Expires) {
				expired = append(expired, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range expired {
			if err := tx.Delete(as.BucketBootstrap, k); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep bootstraps: %w", err)
	}
	return n, nil
}
