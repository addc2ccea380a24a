package bsf

import (
	"encoding/xml"
	"fmt"
)

// GUSS is the GBA User Security Settings of a subscriber (TS 29.109 Annex A): what the HSS
// returns on Zh and the BSF passes to a NAF, per NAF, as a USS list on Zn.
type GUSS struct {
	UICCType string // "GBA" or "GBA_U"; empty means GBA
	USS      []USS
}

// USS is one User Security Setting: the public identities (uids) a user may assert at the
// NAFs of a GAA service (type = GSID), optionally restricted to a NAF group.
type USS struct {
	ID       string
	Type     string // GAA-Service-Identifier; empty: every service
	NAFGroup string
	UIDs     []string
	Flags    []int
}

// gbaNamespace is the namespace of the GBA XML documents (TS 24.109 Annex C, TS 29.109 Annex A).
const gbaNamespace = "uri:3gpp-gba"

type xmlGUSS struct {
	XMLName xml.Name   `xml:"uri:3gpp-gba guss"`
	ID      string     `xml:"id,attr,omitempty"`
	BSFInfo xmlBSFInfo `xml:"bsfInfo"`
	USSList xmlUSSList `xml:"ussList"`
}

type xmlBSFInfo struct {
	UICCType string `xml:"uiccType,omitempty"`
}

type xmlUSSList struct {
	XMLName xml.Name `xml:"uri:3gpp-gba ussList"`
	USS     []xmlUSS `xml:"uss"`
}

type xmlUSS struct {
	ID       string   `xml:"id,attr"`
	Type     string   `xml:"type,attr,omitempty"`
	NAFGroup string   `xml:"nafGroup,attr,omitempty"`
	UIDs     []string `xml:"uids>uid"`
	Flags    []int    `xml:"flags>flag,omitempty"`
}

func toXMLUSS(list []USS) []xmlUSS {
	out := make([]xmlUSS, 0, len(list))
	for _, u := range list {
		out = append(out, xmlUSS{ID: u.ID, Type: u.Type, NAFGroup: u.NAFGroup, UIDs: u.UIDs, Flags: u.Flags})
	}
	return out
}

func fromXMLUSS(list []xmlUSS) []USS {
	out := make([]USS, 0, len(list))
	for _, u := range list {
		out = append(out, USS{ID: u.ID, Type: u.Type, NAFGroup: u.NAFGroup, UIDs: u.UIDs, Flags: u.Flags})
	}
	return out
}

// MarshalGUSS encodes the Zh GBA-UserSecSettings document (root guss).
func MarshalGUSS(g GUSS) ([]byte, error) {
	return xml.Marshal(xmlGUSS{BSFInfo: xmlBSFInfo{UICCType: g.UICCType}, USSList: xmlUSSList{USS: toXMLUSS(g.USS)}})
}

// ParseGUSS decodes a Zh GBA-UserSecSettings document.
func ParseGUSS(b []byte) (GUSS, error) {
	var x xmlGUSS
	if err := xml.Unmarshal(b, &x); err != nil {
		return GUSS{}, fmt.Errorf("GBA-UserSecSettings: %w", err)
	}
	return GUSS{UICCType: x.BSFInfo.UICCType, USS: fromXMLUSS(x.USSList.USS)}, nil
}

// MarshalUSSList encodes the Zn GBA-UserSecSettings document (root ussList) for one NAF.
func MarshalUSSList(list []USS) ([]byte, error) {
	return xml.Marshal(xmlUSSList{USS: toXMLUSS(list)})
}

// ParseUSSList decodes a Zn GBA-UserSecSettings document.
func ParseUSSList(b []byte) ([]USS, error) {
	var x xmlUSSList
	if err := xml.Unmarshal(b, &x); err != nil {
		return nil, fmt.Errorf("GBA-UserSecSettings: %w", err)
	}
	return fromXMLUSS(x.USS), nil
}

// Identities lists the uids of every USS, in order, without duplicates.
func (g GUSS) Identities() []string { return ussIdentities(g.USS) }

func ussIdentities(list []USS) []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range list {
		for _, id := range u.UIDs {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}
