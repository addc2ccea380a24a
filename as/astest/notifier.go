package astest

import (
	"context"
	"sync"

	"github.com/imsps/imsps/as"
)

// Notifier is an as.Notifier that records every NOTIFY. Respond, when set, decides the
// outcome (nil = 200); it is called without locks held.
type Notifier struct {
	Respond func(as.Notification) error

	mu   sync.Mutex
	sent []as.Notification
	ch   chan as.Notification
}

var _ as.Notifier = (*Notifier)(nil)

// NewNotifier returns a recorder whose channel C buffers up to buffer notifications
// (further ones are only recorded).
func NewNotifier(buffer int) *Notifier {
	return &Notifier{ch: make(chan as.Notification, buffer)}
}

// Notify records n and answers as Respond says.
func (n *Notifier) Notify(ctx context.Context, x as.Notification) error {
	n.mu.Lock()
	n.sent = append(n.sent, x)
	n.mu.Unlock()
	select {
	case n.ch <- x:
	default:
	}
	if n.Respond != nil {
		return n.Respond(x)
	}
	return ctx.Err()
}

// C delivers notifications as they are sent.
func (n *Notifier) C() <-chan as.Notification { return n.ch }

// Sent returns every notification so far.
func (n *Notifier) Sent() []as.Notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]as.Notification(nil), n.sent...)
}

// For returns the notifications sent in the dialog with our tag localTag.
func (n *Notifier) For(localTag string) []as.Notification {
	var out []as.Notification
	for _, x := range n.Sent() {
		if x.Dialog.LocalTag == localTag {
			out = append(out, x)
		}
	}
	return out
}

// Reset forgets the recorded notifications.
func (n *Notifier) Reset() {
	n.mu.Lock()
	n.sent = nil
	n.mu.Unlock()
}
