package bsf

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"

	"golang.org/x/text/unicode/norm"
)

// UaProtocolID is a Ua security protocol identifier (TS 33.220 Annex H.3): five octets,
// held in the low 40 bits.
type UaProtocolID uint64

// Ua security protocol identifiers used by the Ut authentication proxy.
const (
	// UaHTTPDigest is HTTP Digest per TS 24.109 over plain HTTP: 01 00 00 00 02.
	UaHTTPDigest UaProtocolID = 0x01_00_00_00_02
	// uaHTTPDigestTLS is the prefix 01 00 01 of HTTP Digest over server-authenticated TLS
	// (TS 33.222 §5.3); the low two octets are the negotiated cipher suite.
	uaHTTPDigestTLS UaProtocolID = 0x01_00_01_00_00
)

// UaHTTPDigestTLS is the identifier of HTTP Digest over TLS with the given negotiated cipher
// suite (TS 33.222 §5.3, TS 33.220 H.3: 01 00 01 yy zz).
func UaHTTPDigestTLS(cipherSuite uint16) UaProtocolID {
	return uaHTTPDigestTLS | UaProtocolID(cipherSuite)
}

// Bytes returns the five octets of the identifier.
func (u UaProtocolID) Bytes() [5]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(u))
	return [5]byte(b[3:])
}

// NAFID builds NAF_Id = FQDN ‖ Ua security protocol identifier (TS 33.220 §4.5.2, H.3). The
// result is binary; it is what the Zn NAF-Id AVP carries and what the KDF takes as P3.
func NAFID(fqdn string, ua UaProtocolID) string {
	b := ua.Bytes()
	return fqdn + string(b[:])
}

// SplitNAFID splits a NAF_Id into the FQDN and the Ua security protocol identifier; ok is
// false when it is shorter than the five-octet identifier.
func SplitNAFID(nafID string) (fqdn string, ua UaProtocolID, ok bool) {
	if len(nafID) <= 5 {
		return "", 0, false
	}
	var b [8]byte
	copy(b[3:], nafID[len(nafID)-5:])
	return nafID[:len(nafID)-5], UaProtocolID(binary.BigEndian.Uint64(b[:])), true
}

// KDF is the key derivation function of TS 33.220 Annex B.2:
// HMAC-SHA-256(key, FC ‖ P0 ‖ L0 ‖ … ‖ Pn ‖ Ln) with each Li the 2-octet length of Pi.
func KDF(key []byte, fc byte, params ...[]byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte{fc})
	for _, p := range params {
		mac.Write(p)
		mac.Write(binary.BigEndian.AppendUint16(nil, uint16(len(p))))
	}
	return mac.Sum(nil)
}

// fcKsNAF is the FC value of Ks_NAF / Ks_ext_NAF (TS 33.220 B.3).
const fcKsNAF = 0x01

// KsNAF derives Ks_NAF = KDF(Ks, "gba-me", RAND, IMPI, NAF_Id) (TS 33.220 §4.5.2, B.3).
// Character strings are NFKC-normalised UTF-8 (B.2.1).
func KsNAF(ks, rand []byte, impi, nafID string) []byte {
	fqdn, ua, ok := SplitNAFID(nafID)
	if ok {
		b := ua.Bytes()
		nafID = norm.NFKC.String(fqdn) + string(b[:])
	}
	return KDF(ks, fcKsNAF, []byte("gba-me"), rand, []byte(norm.NFKC.String(impi)), []byte(nafID))
}

// BTID builds the bootstrapping transaction identifier base64(RAND) "@" BSF server name
// (TS 33.220 §4.5.2).
func BTID(rand []byte, bsfName string) string {
	return base64.StdEncoding.EncodeToString(rand) + "@" + bsfName
}
