// Package bsf implements GBA (TS 33.220, TS 24.109): the bootstrapping server (Ub HTTP Digest
// AKA, Zn server, vectors over Zh or from local Milenage, the Annex B KDF) and the Ut
// authentication proxy (NAF) that authenticates UEs with B-TID and Ks_NAF for the XCAP server.
package bsf
