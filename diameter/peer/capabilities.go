package peer

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imsps/imsps/diameter/dict"
)

// capabilities adds the CER/CEA body (RFC 6733 §5.3.1-2): Origin-Host/Realm, Host-IP-Address,
// Vendor-Id, Product-Name, Origin-State-Id, Supported-Vendor-Id and one
// Vendor-Specific-Application-Id per 3GPP application the dictionary holds.
func (c *Conn) capabilities(m *diam.Message) {
	id := c.opt.Local
	m.AddAVP(Base(dict.AVPOriginHost, datatype.DiameterIdentity(id.OriginHost)))
	m.AddAVP(Base(dict.AVPOriginRealm, datatype.DiameterIdentity(id.OriginRealm)))
	ips := id.HostIPAddresses
	if len(ips) == 0 {
		if ta, ok := c.nc.LocalAddr().(*net.TCPAddr); ok {
			ips = []net.IP{ta.IP}
		}
	}
	for _, ip := range ips {
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		m.AddAVP(Base(dict.AVPHostIPAddress, datatype.Address(ip)))
	}
	m.AddAVP(Base(dict.AVPVendorID, datatype.Unsigned32(id.VendorID)))
	m.AddAVP(diam.NewAVP(dict.AVPProductName, 0, 0, datatype.UTF8String(id.ProductName)))
	m.AddAVP(Base(dict.AVPOriginStateID, datatype.Unsigned32(id.OriginStateID)))
	apps := dict.Apps(c.opt.Dict)
	if len(apps) > 0 {
		m.AddAVP(Base(dict.AVPSupportedVendorID, datatype.Unsigned32(dict.Vendor3GPP)))
	}
	for _, a := range apps {
		m.AddAVP(VSAI(a))
	}
}

// advertised lists the applications a CER or CEA names, in Auth-Application-Id,
// Acct-Application-Id or Vendor-Specific-Application-Id; relay (0xffffffff) counts as all.
func advertised(m *diam.Message) (apps []uint32, relay bool) {
	add := func(avps []*diam.AVP) {
		for _, code := range []uint32{dict.AVPAuthApplicationID, dict.AVPAcctApplicationID} {
			for _, a := range FindAll(avps, code, 0) {
				if v, ok := Uint32(a); ok {
					if v == 0xffffffff {
						relay = true
					}
					apps = append(apps, v)
				}
			}
		}
	}
	add(m.AVP)
	for _, v := range FindAll(m.AVP, dict.AVPVendorSpecificApplicationID, 0) {
		add(Children(v))
	}
	return apps, relay
}

// common intersects our applications with the peer's.
func (c *Conn) common(m *diam.Message) []dict.App {
	theirs, relay := advertised(m)
	var out []dict.App
	for _, a := range dict.Apps(c.opt.Dict) {
		if relay {
			out = append(out, a)
			continue
		}
		for _, t := range theirs {
			if uint32(a) == t {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

func (c *Conn) learn(m *diam.Message) {
	c.remote.OriginHost, _ = String(Find(m.AVP, dict.AVPOriginHost, 0))
	c.remote.OriginRealm, _ = String(Find(m.AVP, dict.AVPOriginRealm, 0))
	c.remote.Addr = c.nc.RemoteAddr()
	c.remote.Apps = c.common(m)
}

// handshakeClient sends the CER and waits for a successful CEA.
func (c *Conn) handshakeClient(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.nc.SetReadDeadline(deadline)
	defer c.nc.SetReadDeadline(time.Time{})
	cer := diam.NewMessage(dict.CapabilitiesExchange, diam.RequestFlag, 0, c.hbh.Add(1), c.e2e.Add(1), c.opt.Dict)
	c.capabilities(cer)
	if err := c.write(cer); err != nil {
		return fmt.Errorf("%w: send CER: %w", ErrHandshake, err)
	}
	for {
		b, err := c.read()
		if err != nil {
			return fmt.Errorf("%w: read CEA: %w", ErrHandshake, err)
		}
		m, err := c.decode(b)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrHandshake, err)
		}
		if m.Header.CommandCode != dict.CapabilitiesExchange || m.Header.CommandFlags&diam.RequestFlag != 0 {
			// Nothing else may come before the CEA (RFC 6733 §5.3); DWR is the one exception peers send early.
			continue
		}
		if err := ResultOf(m); err != nil {
			return fmt.Errorf("%w: CEA: %w", ErrHandshake, err)
		}
		c.learn(m)
		if len(c.remote.Apps) == 0 && len(dict.Apps(c.opt.Dict)) > 0 {
			return fmt.Errorf("%w: peer %s shares no application", ErrHandshake, c.remote.OriginHost)
		}
		return nil
	}
}

// handshakeServer waits for the CER and answers the CEA; without a common application the
// answer is DIAMETER_NO_COMMON_APPLICATION (5010) and the connection ends.
func (c *Conn) handshakeServer(ctx context.Context) error {
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.nc.SetReadDeadline(time.Time{})
	b, err := c.read()
	if err != nil {
		return fmt.Errorf("%w: read CER: %w", ErrHandshake, err)
	}
	if code := uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7]); code != dict.CapabilitiesExchange || b[4]&diam.RequestFlag == 0 {
		return fmt.Errorf("%w: first message is command %d (flags %#x), not CER", ErrHandshake, code, b[4])
	}
	m, derr := c.decodeRequest(b)
	if derr != nil {
		c.answerRaw(b, derr)
		return fmt.Errorf("%w: undecodable CER: %w", ErrHandshake, derr)
	}
	c.learn(m)
	var rerr *ResultError
	if len(c.remote.Apps) == 0 && len(dict.Apps(c.opt.Dict)) > 0 {
		rerr = Result(dict.NoCommonApplication, "")
	}
	a := diam.NewMessage(dict.CapabilitiesExchange, 0, 0, m.Header.HopByHopID, m.Header.EndToEndID, c.opt.Dict)
	if rerr != nil {
		a.AddAVP(Base(dict.AVPResultCode, datatype.Unsigned32(rerr.Code)))
	} else {
		a.AddAVP(Base(dict.AVPResultCode, datatype.Unsigned32(dict.Success)))
	}
	c.capabilities(a)
	if err := c.write(a); err != nil {
		return fmt.Errorf("%w: send CEA: %w", ErrHandshake, err)
	}
	if rerr != nil {
		return fmt.Errorf("%w: peer %s shares no application", ErrHandshake, c.remote.OriginHost)
	}
	return nil
}
