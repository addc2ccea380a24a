// Package bsf implements GBA (TS 33.220, TS 24.109): the bootstrapping server (Ub HTTP Digest
// AKA, Zn server, Zh or local Milenage vectors, KDF) and the Ut authentication proxy (NAF),
// which authenticates UEs with B-TID and Ks_NAF and forwards to the XCAP server.
package bsf
