package as

import (
	"context"
	"errors"
)

// Notifier sends NOTIFY requests within subscription dialogs; isc implements it over SIP.
// Notify blocks until the final response or ctx ends. It returns nil on 2xx, an error wrapping
// ErrNoSuchSubscription on 481 (the agent removes the subscription), ErrNotifyTimeout when
// no final response came, and another error for other failures.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// ErrNotifyTimeout is returned by a Notifier when the watcher never answered.
var ErrNotifyTimeout = errors.New("notify timed out")
