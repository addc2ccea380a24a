// Package diameter is the root of imsps's Diameter side: dictionaries (dict), the base
// protocol (peer), the Sh client (sh), the Sh-Data document (shdata) and the HSS simulator (hss).
// It holds no code itself; see README.md for how the parts fit and how to test them.
package diameter
