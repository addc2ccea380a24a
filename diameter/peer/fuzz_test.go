package peer

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imsps/imsps/diameter/dict"
)

// FuzzReadFrame feeds arbitrary bytes to the framing and decoding of incoming messages
// (RFC 6733 §3, §4): no panic, and a decoded message re-encodes to a decodable one.
func FuzzReadFrame(f *testing.F) {
	d, err := dict.New(dict.Sh, dict.Zh, dict.Zn)
	if err != nil {
		f.Fatal(err)
	}
	m := diam.NewRequest(dict.UserData, uint32(dict.Sh), d)
	m.AddAVP(Base(dict.AVPSessionID, datatype.UTF8String("as;1;2")))
	m.AddAVP(VSAI(dict.Sh))
	m.AddAVP(Vendor3GPP(dict.AVPUserIdentity, true, &diam.GroupedAVP{AVP: []*diam.AVP{
		Vendor3GPP(dict.AVPPublicIdentity, true, datatype.UTF8String("sip:alice@example.com"))}}))
	m.AddAVP(Vendor3GPP(dict.AVPDataReference, true, datatype.Enumerated(dict.IMSUserState)))
	udr, _ := m.Serialize()
	f.Add(udr)
	dwr := diam.NewRequest(dict.DeviceWatchdog, 0, d)
	dwr.AddAVP(Base(dict.AVPOriginHost, datatype.DiameterIdentity("as.example.com")))
	b, _ := dwr.Serialize()
	f.Add(b)
	unknown := diam.NewRequest(999, 4, d)
	unknown.AddAVP(Base(dict.AVPSessionID, datatype.UTF8String("x")))
	b, _ = unknown.Serialize()
	f.Add(b)
	f.Add([]byte{1, 0, 0, 20, 0x80, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1})
	// The go-diameter v4.1.0 decoder panic (bsf's TestGoDiameterMalformedAVP) with version 1,
	// and an Unsigned32 AVP with a 5-byte payload, which the codec decodes as 4 bytes and then
	// walks the rest of the message out of step.
	f.Add([]byte("\x01\x00\x0000\x00\x01/\x01\x00\x00\x05" + strings.Repeat("0", 36)))
	short := append(udr[:len(udr):len(udr)], 0, 0, 2, 0xbf, 0xc0, 0, 0, 17, 0, 0, 0x28, 0xaf, 0, 0, 0, 0, 0, 0, 0, 0)
	short[3] = byte(len(short))
	f.Add(short)
	f.Fuzz(func(t *testing.T, in []byte) {
		frame, err := readFrame(bytes.NewReader(in))
		if err != nil {
			return
		}
		rawSessionID(frame[diam.HeaderLength:])
		c := &Conn{opt: Options{Dict: d}}
		if checkAVPs(frame[diam.HeaderLength:], binary.BigEndian.Uint32(frame[8:12]), d) != nil {
			c.decode(frame) // rejected before decoding in every read path; the codec must still not crash us
			return
		}
		// A body that passed the checks must not make the codec panic.
		msg, err := decode(frame, d)
		if err != nil {
			return
		}
		out, err := msg.Serialize()
		if err != nil {
			return
		}
		if _, err := c.decode(out); err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
	})
}
