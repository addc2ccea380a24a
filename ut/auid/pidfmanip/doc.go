// Package pidfmanip is the XCAP application usage "pidf-manipulation" (RFC 4827): one hard-state
// presence document (PIDF, RFC 3863) per user, named "index", handed to the presence agent
// after every committed write. Entry point: New.
package pidfmanip
