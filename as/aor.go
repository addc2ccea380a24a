package as

// AOR is a canonical address of record: a SIP URI "sip:user@domain" (no parameters,
// headers or port, escapes decoded, domain lower case) or a tel URI "tel:+number".
// The same presentity always has the same AOR.
type AOR string
