package dict

import (
	"bytes"
	"embed"
	"fmt"

	gdict "github.com/fiorix/go-diameter/v4/diam/dict"
)

//go:embed xml/*.xml
var files embed.FS

// App is a Diameter application id (RFC 6733 §2.4).
type App uint32

// The applications imsps speaks.
const (
	Base App = 0        // the base protocol: CER/CEA, DWR/DWA, DPR/DPA
	Sh   App = 16777217 // TS 29.329: AS <-> HSS
	Zn   App = 16777220 // TS 29.109 §5: NAF <-> BSF
	Zh   App = 16777221 // TS 29.109 §4: BSF <-> HSS
)

// Vendor3GPP is the 3GPP vendor id (IANA enterprise number 10415).
const Vendor3GPP uint32 = 10415

func (a App) String() string {
	switch a {
	case Base:
		return "Base"
	case Sh:
		return "Sh"
	case Zn:
		return "Zn"
	case Zh:
		return "Zh"
	}
	return fmt.Sprintf("App(%d)", uint32(a))
}

func (a App) file() string {
	switch a {
	case Base:
		return "xml/base.xml"
	case Sh:
		return "xml/sh.xml"
	case Zn:
		return "xml/zn.xml"
	case Zh:
		return "xml/zh.xml"
	}
	return ""
}

// XML returns the dictionary file of an application, in go-diameter's XML format.
func XML(a App) ([]byte, error) {
	name := a.file()
	if name == "" {
		return nil, fmt.Errorf("dict: no dictionary for application %d", uint32(a))
	}
	return files.ReadFile(name)
}

// New builds a fresh dictionary parser holding the base protocol and the named applications
// only, so that a capabilities exchange built from it advertises exactly those.
// Every call returns a new parser; parsers are safe for concurrent reads once built.
func New(apps ...App) (*gdict.Parser, error) {
	p, err := gdict.NewParser()
	if err != nil {
		return nil, err
	}
	seen := map[App]bool{}
	for _, a := range append([]App{Base}, apps...) {
		if seen[a] {
			continue
		}
		seen[a] = true
		b, err := XML(a)
		if err != nil {
			return nil, err
		}
		if err := p.Load(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("dict: load %s: %w", a, err)
		}
	}
	return p, nil
}

// Apps lists the non-base applications a parser holds, in load order.
func Apps(p *gdict.Parser) []App {
	var out []App
	for _, a := range p.Apps() {
		if a.ID != 0 {
			out = append(out, App(a.ID))
		}
	}
	return out
}
