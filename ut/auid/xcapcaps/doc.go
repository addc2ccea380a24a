// Package xcapcaps is the XCAP application usage "xcap-caps" (RFC 4825 §12): the read-only
// global document listing the AUIDs, extensions and namespaces the server supports, built
// from the live registry of application usages. Entry point: New.
package xcapcaps
