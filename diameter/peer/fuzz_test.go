package peer

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
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
		msg, rerr := decode(frame, d) // recovers nothing beyond one AVP's codec call
		if rerr != nil {
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

// FuzzServeFrame feeds arbitrary frames through what a connection does with a message it
// read (RFC 6733 §3, §5.3, §6.2, §7.1): base commands, a handler that reads AVPs, error
// answers built from raw headers. No input may panic, and every request is answered.
func FuzzServeFrame(f *testing.F) {
	d, err := dict.New(dict.Sh, dict.Zh, dict.Zn)
	if err != nil {
		f.Fatal(err)
	}
	udr := diam.NewRequest(dict.UserData, uint32(dict.Sh), d)
	udr.AddAVP(Base(dict.AVPSessionID, datatype.UTF8String("as;1;2")))
	udr.AddAVP(VSAI(dict.Sh))
	udr.AddAVP(Vendor3GPP(dict.AVPUserIdentity, true, &diam.GroupedAVP{AVP: []*diam.AVP{
		Vendor3GPP(dict.AVPPublicIdentity, true, datatype.UTF8String("sip:alice@example.com"))}}))
	b, _ := udr.Serialize()
	f.Add(b)
	for _, code := range []uint32{dict.DeviceWatchdog, dict.DisconnectPeer, dict.CapabilitiesExchange} {
		m := diam.NewRequest(code, 0, d)
		m.AddAVP(Base(dict.AVPOriginHost, datatype.DiameterIdentity("x")))
		b, _ := m.Serialize()
		f.Add(b)
	}
	f.Add([]byte("\x01\x00\x0000\x00\x01/\x01\x00\x00\x05" + strings.Repeat("0", 36)))
	mux := NewMux()
	mux.HandleFunc(dict.Sh, dict.UserData, func(ctx context.Context, req *diam.Message) (*diam.Message, error) {
		if err := RequireAVPs(req, [2]uint32{dict.AVPUserIdentity, dict.Vendor3GPP}); err != nil {
			return nil, err
		}
		id := Children(Find(req.AVP, dict.AVPUserIdentity, dict.Vendor3GPP))
		s, _ := String(Find(id, dict.AVPPublicIdentity, dict.Vendor3GPP))
		a := NewAnswer(ctx, req)
		a.AddAVP(Vendor3GPP(dict.AVPUserData, true, datatype.OctetString(s)))
		return a, nil
	})
	opt := Options{Local: Identity{OriginHost: "hss.example.com", OriginRealm: "example.com"}, Dict: d, Mux: mux}.withDefaults()
	f.Fuzz(func(t *testing.T, in []byte) {
		frame, err := readFrame(bytes.NewReader(in))
		if err != nil {
			return
		}
		ours, theirs := net.Pipe()
		defer theirs.Close()
		answered := make(chan bool, 1)
		go func() {
			_, err := readFrame(theirs)
			answered <- err == nil
			io.Copy(io.Discard, theirs)
		}()
		c := newConn(ours, opt)
		c.remote.Apps = []dict.App{dict.Sh, dict.Zh, dict.Zn}
		request := frame[4]&diam.RequestFlag != 0
		app, code := binary.BigEndian.Uint32(frame[8:12]), uint32(frame[5])<<16|uint32(frame[6])<<8|uint32(frame[7])
		if request {
			c.serveRequest(context.Background(), frame, app, code)
		} else {
			c.dispatch(context.Background(), frame)
		}
		c.shut(nil)
		if got := <-answered; request && !got {
			t.Fatalf("request %d/%d not answered", app, code)
		}
	})
}
