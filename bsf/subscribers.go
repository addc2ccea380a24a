package bsf

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/imsps/imsps/configs"
)

// SubscriberData answers the proxy's identity and plain-Digest questions from a subscriber
// file (configs.LoadSubscribers): IMPUs by IMPI and HA1 from the configured passwords.
type SubscriberData struct {
	subs *configs.Subscribers
}

var (
	_ IdentityChecker = (*SubscriberData)(nil)
	_ DigestUsers     = (*SubscriberData)(nil)
)

// NewSubscriberData wraps parsed subscribers.
func NewSubscriberData(subs *configs.Subscribers) (*SubscriberData, error) {
	if subs == nil {
		return nil, errors.New("bsf: subscriber data needs subscribers")
	}
	return &SubscriberData{subs: subs}, nil
}

// Identities implements IdentityChecker.
func (s *SubscriberData) Identities(ctx context.Context, impi string) ([]string, error) {
	sub, ok := s.subs.ByIMPI(impi)
	if !ok {
		return nil, fmt.Errorf("identities of %s: %w", impi, ErrUnknownIMPI)
	}
	return append([]string(nil), sub.IMPUs...), nil
}

// DigestHA1 implements DigestUsers. A user may authenticate as the full IMPI
// (alice@example.com) or as its user part (alice) when the realm is the IMPI's domain.
func (s *SubscriberData) DigestHA1(ctx context.Context, username, realm string) (string, string, error) {
	sub, ok := s.subs.ByIMPI(username)
	if !ok && !strings.Contains(username, "@") {
		sub, ok = s.subs.ByIMPI(username + "@" + realm)
	}
	if !ok || sub.Password == "" {
		return "", "", fmt.Errorf("digest user %s: %w", username, ErrUnknownIMPI)
	}
	return ha1(username, realm, []byte(sub.Password)), sub.IMPI, nil
}
