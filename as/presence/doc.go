// Package presence is the "presence" event package (RFC 3856) for the presence core in as:
// PUBLISH bodies are PIDF documents (RFC 3863, application/pidf+xml), and the NOTIFY body
// is the PIDF composed from the presentity's hard state and every live publication.
package presence
