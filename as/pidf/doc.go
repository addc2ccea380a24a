// Package pidf parses and validates PIDF presence documents (RFC 3863, RFC 4479, RFC 4480)
// and composes the documents of every live publication of a presentity into one
// (the event state compositor of RFC 3903 §2); see README.md for the composition rules.
package pidf
