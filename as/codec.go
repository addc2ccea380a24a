package as

import (
	"encoding/binary"
	"errors"
)

// Store layout of the presence core (the only code that knows these keys):
//
//	BucketPublications
//	  "p\x00" + AOR + "\x00" + id  → publication record (id: the publication's first SIP-ETag,
//	                                 stable across refreshes; the current ETag is in the value)
//	  "h\x00" + AOR                → hard-state document (raw PIDF, RFC 4827), set by SetHardState
//	BucketSubscriptions
//	  LocalTag                      → subscription record (our To-tag; random, unique)
//
// Records are compact binary: a version byte, then fields as uvarint-length-prefixed strings
// and varints, in the order of encodePublication / encodeSubscription.

const recordVersion = 1

func publicationKey(aor AOR, id string) string { return "p\x00" + string(aor) + "\x00" + id }
func hardStateKey(aor AOR) string              { return "h\x00" + string(aor) }

// pubRecord is a publication as stored.
type pubRecord struct {
	AOR         AOR
	ID          string
	ETag        string
	Event       string
	Publisher   AOR
	ContentType string
	Expires     int64 // unix ns
	Published   int64 // unix ns
	Body        []byte
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encodePublication(r *pubRecord) []byte {
	n := 16 + len(r.AOR) + len(r.ID) + len(r.ETag) + len(r.Event) + len(r.Publisher) + len(r.ContentType) + 20 + len(r.Body) + 8
	b := make([]byte, 0, n)
	b = append(b, recordVersion)
	b = appendString(b, string(r.AOR))
	b = appendString(b, r.ID)
	b = appendString(b, r.ETag)
	b = appendString(b, r.Event)
	b = appendString(b, string(r.Publisher))
	b = appendString(b, r.ContentType)
	b = binary.AppendVarint(b, r.Expires)
	b = binary.AppendVarint(b, r.Published)
	b = binary.AppendUvarint(b, uint64(len(r.Body)))
	return append(b, r.Body...)
}

var errBadRecord = errors.New("corrupt record")

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadRecord
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errBadRecord
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errBadRecord
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string { return string(r.bytes()) }

func decodePublication(b []byte) (*pubRecord, error) {
	if len(b) == 0 || b[0] != recordVersion {
		return nil, errBadRecord
	}
	rd := &reader{b: b[1:]}
	r := &pubRecord{
		AOR:         AOR(rd.string()),
		ID:          rd.string(),
		ETag:        rd.string(),
		Event:       rd.string(),
		Publisher:   AOR(rd.string()),
		ContentType: rd.string(),
		Expires:     rd.varint(),
		Published:   rd.varint(),
	}
	r.Body = append([]byte(nil), rd.bytes()...)
	if rd.err != nil {
		return nil, rd.err
	}
	return r, nil
}

// subRecord is a subscription as stored: everything needed to keep sending NOTIFYs in
// its dialog after a restart.
type subRecord struct {
	Presentity     AOR
	Event          string
	EventID        string
	Watcher        AOR
	ChargingVector string
	Expires        int64  // unix ns
	CSeqReserved   uint32 // no NOTIFY ever used a CSeq above it
	Dialog         Dialog
}

func encodeSubscription(r *subRecord) []byte {
	d := &r.Dialog
	n := 32 + len(r.Presentity) + len(r.Event) + len(r.EventID) + len(r.Watcher) + len(r.ChargingVector) +
		len(d.CallID) + len(d.LocalTag) + len(d.RemoteTag) + len(d.LocalURI) + len(d.RemoteURI) +
		len(d.RemoteTarget) + len(d.Transport) + len(d.Source) + 24
	for _, rt := range d.RouteSet {
		n += len(rt) + 2
	}
	b := make([]byte, 0, n)
	b = append(b, recordVersion)
	b = appendString(b, string(r.Presentity))
	b = appendString(b, r.Event)
	b = appendString(b, r.EventID)
	b = appendString(b, string(r.Watcher))
	b = appendString(b, r.ChargingVector)
	b = binary.AppendVarint(b, r.Expires)
	b = binary.AppendUvarint(b, uint64(r.CSeqReserved))
	for _, s := range []string{d.CallID, d.LocalTag, d.RemoteTag, d.LocalURI, d.RemoteURI, d.RemoteTarget, d.Transport, d.Source} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(d.RouteSet)))
	for _, rt := range d.RouteSet {
		b = appendString(b, rt)
	}
	return b
}

func decodeSubscription(b []byte) (*subRecord, error) {
	if len(b) == 0 || b[0] != recordVersion {
		return nil, errBadRecord
	}
	rd := &reader{b: b[1:]}
	r := &subRecord{
		Presentity:     AOR(rd.string()),
		Event:          rd.string(),
		EventID:        rd.string(),
		Watcher:        AOR(rd.string()),
		ChargingVector: rd.string(),
		Expires:        rd.varint(),
	}
	cs := rd.uvarint()
	if cs > 1<<32-1 {
		return nil, errBadRecord
	}
	r.CSeqReserved = uint32(cs)
	d := &r.Dialog
	d.CallID, d.LocalTag, d.RemoteTag = rd.string(), rd.string(), rd.string()
	d.LocalURI, d.RemoteURI, d.RemoteTarget = rd.string(), rd.string(), rd.string()
	d.Transport, d.Source = rd.string(), rd.string()
	nr := rd.uvarint()
	if nr > uint64(len(rd.b)) {
		return nil, errBadRecord
	}
	if nr > 0 {
		d.RouteSet = make([]string, nr)
		for i := range d.RouteSet {
			d.RouteSet[i] = rd.string()
		}
	}
	if rd.err != nil {
		return nil, rd.err
	}
	return r, nil
}
