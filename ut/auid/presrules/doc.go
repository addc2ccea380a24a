// Package presrules is the XCAP application usage "pres-rules" (RFC 5025 §9) and its OMA
// twin "org.openmobilealliance.pres-rules": presence authorization rules in the common-policy
// format (RFC 4745) with the pres-rules actions and transformations. Entry point: New.
package presrules
