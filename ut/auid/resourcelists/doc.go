// Package resourcelists is the XCAP application usage "resource-lists" (RFC 4826 §3.4):
// a user's lists of resources (buddy lists), validated against the RFC 4826 schema and the
// §3.4.5 uniqueness and URI constraints. Entry point: New.
package resourcelists
