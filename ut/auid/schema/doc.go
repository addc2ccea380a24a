// Package schema compiles the XML Schemas of the XCAP application usages (RFC 4825 §5.4)
// once at start-up and validates candidate documents against them, turning every failure
// into the RFC 4825 §11 conflict the engine answers with (*ut.Conflict).
package schema
