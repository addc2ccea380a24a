// Package bsftest is a GBA test UE: its own Milenage (USIM side) and HTTP Digest AKA client
// bootstraps over Ub and then sends HTTP requests through a NAF with Digest (B-TID, Ks_NAF).
// Tests of bsf, ut and conformance use it against servers started on 127.0.0.1:0.
package bsftest
