// Package as is the presence application server's domain: presentities and their
// publications (RFC 3903), subscriptions and watchers (RFC 6665, RFC 3856), event state
// composition, expiry timers, and the interfaces it needs from storage and the subscriber directory.
package as
