package shdata

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/imsps/imsps/as"
)

// Data is the Sh-Data document carried in User-Data (TS 29.328 Annex D, ShDataType.xsd):
// root element Sh-Data in no namespace. Only the parts imsps uses are modelled.
type Data struct {
	PublicIdentifiers *PublicIdentifiers
	RepositoryData    []RepositoryData
	IMSData           *IMSData
}

// PublicIdentifiers lists a subscriber's public identities (Data-Reference IMSPublicIdentity, MSISDN).
type PublicIdentifiers struct {
	IMSPublicIdentity []string
	MSISDN            []string
}

// RepositoryData is transparent data an AS keeps in the HSS (Data-Reference RepositoryData).
type RepositoryData struct {
	ServiceIndication string
	SequenceNumber    uint32 // 0..65535
	// ServiceData is the inner XML of the ServiceData element; nil when absent
	// (a PUR without it deletes the data, TS 29.328 §6.1.2.1).
	ServiceData []byte
}

// IMSData is Sh-IMS-Data: the S-CSCF name and IMS user state.
type IMSData struct {
	SCSCFName    string
	IMSUserState *as.UserState
}

// MaxDataSize bounds the Sh-Data documents ParseData accepts.
const MaxDataSize = 256 << 10

// ErrBadData is returned for User-Data that is not an Sh-Data document.
var ErrBadData = errors.New("shdata: User-Data is not Sh-Data XML")

type xmlData struct {
	XMLName           xml.Name
	PublicIdentifiers *xmlPublicIdentifiers `xml:"PublicIdentifiers"`
	RepositoryData    []xmlRepositoryData   `xml:"RepositoryData"`
	IMSData           *xmlIMSData           `xml:"Sh-IMS-Data"`
}

type xmlPublicIdentifiers struct {
	IMSPublicIdentity []string `xml:"IMSPublicIdentity"`
	MSISDN            []string `xml:"MSISDN"`
}

type xmlRepositoryData struct {
	ServiceIndication string          `xml:"ServiceIndication"`
	SequenceNumber    string          `xml:"SequenceNumber"`
	ServiceData       *xmlServiceData `xml:"ServiceData"`
}

type xmlServiceData struct {
	Inner []byte `xml:",innerxml"`
}

type xmlIMSData struct {
	SCSCFName    string `xml:"SCSCFName"`
	IMSUserState string `xml:"IMSUserState"`
}

// ParseData parses an Sh-Data document. It accepts the root element with any namespace and
// the spelling "ShData" some HSSs use, but Marshal emits only the standard form.
func ParseData(b []byte) (*Data, error) {
	if len(b) > MaxDataSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadData, len(b))
	}
	var x xmlData
	dec := xml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&x); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	if x.XMLName.Local != "Sh-Data" && x.XMLName.Local != "ShData" {
		return nil, fmt.Errorf("%w: root element %q", ErrBadData, x.XMLName.Local)
	}
	d := &Data{}
	if p := x.PublicIdentifiers; p != nil {
		d.PublicIdentifiers = &PublicIdentifiers{IMSPublicIdentity: trimAll(p.IMSPublicIdentity), MSISDN: trimAll(p.MSISDN)}
	}
	for i, r := range x.RepositoryData {
		n, err := strconv.ParseUint(strings.TrimSpace(r.SequenceNumber), 10, 32)
		if err != nil || n > 65535 {
			return nil, fmt.Errorf("%w: RepositoryData[%d]/SequenceNumber %q", ErrBadData, i, r.SequenceNumber)
		}
		rd := RepositoryData{ServiceIndication: strings.TrimSpace(r.ServiceIndication), SequenceNumber: uint32(n)}
		if rd.ServiceIndication == "" {
			return nil, fmt.Errorf("%w: RepositoryData[%d] without ServiceIndication", ErrBadData, i)
		}
		if r.ServiceData != nil {
			rd.ServiceData = append([]byte{}, r.ServiceData.Inner...)
		}
		d.RepositoryData = append(d.RepositoryData, rd)
	}
	if m := x.IMSData; m != nil {
		d.IMSData = &IMSData{SCSCFName: strings.TrimSpace(m.SCSCFName)}
		if s := strings.TrimSpace(m.IMSUserState); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > 3 {
				return nil, fmt.Errorf("%w: IMSUserState %q", ErrBadData, s)
			}
			st := as.UserState(n)
			d.IMSData.IMSUserState = &st
		}
	}
	return d, nil
}

func trimAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Marshal writes the document in the element order of ShDataType.xsd.
func (d *Data) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Sh-Data>`)
	if p := d.PublicIdentifiers; p != nil {
		b.WriteString("<PublicIdentifiers>")
		for _, s := range p.IMSPublicIdentity {
			elem(&b, "IMSPublicIdentity", s)
		}
		for _, s := range p.MSISDN {
			elem(&b, "MSISDN", s)
		}
		b.WriteString("</PublicIdentifiers>")
	}
	for _, r := range d.RepositoryData {
		b.WriteString("<RepositoryData>")
		elem(&b, "ServiceIndication", r.ServiceIndication)
		elem(&b, "SequenceNumber", strconv.FormatUint(uint64(r.SequenceNumber), 10))
		if r.ServiceData != nil {
			b.WriteString("<ServiceData>")
			b.Write(r.ServiceData)
			b.WriteString("</ServiceData>")
		}
		b.WriteString("</RepositoryData>")
	}
	if m := d.IMSData; m != nil {
		b.WriteString("<Sh-IMS-Data>")
		if m.SCSCFName != "" {
			elem(&b, "SCSCFName", m.SCSCFName)
		}
		if m.IMSUserState != nil {
			elem(&b, "IMSUserState", strconv.Itoa(int(*m.IMSUserState)))
		}
		b.WriteString("</Sh-IMS-Data>")
	}
	b.WriteString("</Sh-Data>")
	return b.Bytes()
}

func elem(b *bytes.Buffer, name, text string) {
	b.WriteString("<" + name + ">")
	_ = xml.EscapeText(b, []byte(text))
	b.WriteString("</" + name + ">")
}

// Repository returns the repository data for a Service-Indication.
func (d *Data) Repository(si string) (RepositoryData, bool) {
	for _, r := range d.RepositoryData {
		if r.ServiceIndication == si {
			return r, true
		}
	}
	return RepositoryData{}, false
}

// NextSequence is the SequenceNumber after n (TS 29.328 §6.1.2.1): 0 is for creation only,
// so after 65535 comes 1.
func NextSequence(n uint32) uint32 {
	if n >= 65535 {
		return 1
	}
	return n + 1
}
