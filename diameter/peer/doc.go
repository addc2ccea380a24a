// Package peer is imsps's Diameter base protocol (RFC 6733): capabilities exchange, watchdog,
// disconnect, request/answer correlation, a Client with failover over several peers and a Server.
// Sh (diameter/sh), the HSS simulator (diameter/hss) and the BSF (bsf) all talk Diameter through it.
package peer
