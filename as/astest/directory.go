package astest

import (
	"context"
	"fmt"
	"sync"

	"github.com/imsps/imsps/as"
)

// Directory is an as.Directory with open provisioning: every SIP identity of a served
// domain and every global tel number exists, as its own presentity, unless Alias or Set
// says otherwise.
type Directory struct {
	mu      sync.Mutex
	domains map[string]bool
	subs    map[as.AOR]as.Subscriber
	err     error
	// Lookups counts Lookup calls.
	Lookups int
}

var _ as.Directory = (*Directory)(nil)

// NewDirectory returns a directory serving domains.
func NewDirectory(domains ...string) *Directory {
	d := &Directory{domains: map[string]bool{}, subs: map[as.AOR]as.Subscriber{}}
	for _, dom := range domains {
		d.domains[dom] = true
	}
	return d
}

// Alias makes presentity and ids one subscriber whose state is kept under presentity.
func (d *Directory) Alias(presentity as.AOR, ids ...as.AOR) {
	d.mu.Lock()
	defer d.mu.Unlock()
	sub := as.Subscriber{Presentity: presentity, Identities: append([]as.AOR{presentity}, ids...), State: as.Registered}
	for _, id := range sub.Identities {
		d.subs[id] = sub
	}
}

// Fail makes every following Lookup return err (nil restores normal operation).
func (d *Directory) Fail(err error) {
	d.mu.Lock()
	d.err = err
	d.mu.Unlock()
}

// Lookup returns the subscriber owning impu.
func (d *Directory) Lookup(ctx context.Context, impu as.AOR) (as.Subscriber, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Lookups++
	if d.err != nil {
		return as.Subscriber{}, d.err
	}
	if sub, ok := d.subs[impu]; ok {
		return sub, nil
	}
	if impu.IsTel() || d.domains[impu.Domain()] {
		return as.Subscriber{Presentity: impu, Identities: []as.AOR{impu}, State: as.Registered}, nil
	}
	return as.Subscriber{}, fmt.Errorf("%s: %w", impu, as.ErrUnknownUser)
}
