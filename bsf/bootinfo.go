package bsf

import (
	"encoding/xml"
	"fmt"
	"time"
)

// BootstrappingInfo is the body of the Ub 200 OK (TS 24.109 Annex C,
// application/vnd.3gpp.bsf+xml).
type BootstrappingInfo struct {
	BTID     string
	Lifetime time.Time // xs:dateTime, UTC
}

type xmlBootstrappingInfo struct {
	XMLName  xml.Name `xml:"uri:3gpp-gba BootstrappingInfo"`
	BTID     string   `xml:"btid"`
	Lifetime string   `xml:"lifetime"`
}

// Marshal encodes the document with an XML declaration.
func (bi BootstrappingInfo) Marshal() []byte {
	out, _ := xml.Marshal(xmlBootstrappingInfo{BTID: bi.BTID, Lifetime: bi.Lifetime.UTC().Format(time.RFC3339)})
	return append([]byte(xml.Header), out...)
}

// ParseBootstrappingInfo decodes a Ub 200 OK body.
func ParseBootstrappingInfo(b []byte) (BootstrappingInfo, error) {
	var x xmlBootstrappingInfo
	if err := xml.Unmarshal(b, &x); err != nil {
		return BootstrappingInfo{}, fmt.Errorf("BootstrappingInfo: %w", err)
	}
	if x.BTID == "" {
		return BootstrappingInfo{}, fmt.Errorf("BootstrappingInfo: no btid")
	}
	lt, err := time.Parse(time.RFC3339, x.Lifetime)
	if err != nil {
		return BootstrappingInfo{}, fmt.Errorf("BootstrappingInfo lifetime: %w", err)
	}
	return BootstrappingInfo{BTID: x.BTID, Lifetime: lt}, nil
}
