package shdata

import (
	"bytes"
	"errors"
	"testing"

	"github.com/imsps/imsps/as"
)

func TestParseData(t *testing.T) {
	reg := as.Registered
	tests := []struct {
		name    string
		in      string
		want    *Data
		wantErr bool
	}{
		{
			name: "TS29.328 Annex D: repository data and IMS user state",
			in:   `<Sh-Data><RepositoryData><ServiceIndication>PRESENCE-PERM</ServiceIndication><SequenceNumber>3</SequenceNumber><ServiceData><x xmlns="urn:x">1</x></ServiceData></RepositoryData><Sh-IMS-Data><IMSUserState>1</IMSUserState></Sh-IMS-Data></Sh-Data>`,
			want: &Data{RepositoryData: []RepositoryData{{"PRESENCE-PERM", 3, []byte(`<x xmlns="urn:x">1</x>`)}}, IMSData: &IMSData{IMSUserState: &reg}},
		},
		{
			name: "TS29.328 Annex D: public identifiers and SCSCFName without hyphen",
			in:   `<?xml version="1.0"?><Sh-Data><PublicIdentifiers><IMSPublicIdentity>sip:a@example.com</IMSPublicIdentity><IMSPublicIdentity>tel:+1555</IMSPublicIdentity><MSISDN>1555</MSISDN></PublicIdentifiers><Sh-IMS-Data><SCSCFName>sip:scscf.example.com</SCSCFName></Sh-IMS-Data></Sh-Data>`,
			want: &Data{PublicIdentifiers: &PublicIdentifiers{[]string{"sip:a@example.com", "tel:+1555"}, []string{"1555"}}, IMSData: &IMSData{SCSCFName: "sip:scscf.example.com"}},
		},
		{name: "lenient: namespaced root", in: `<Sh-Data xmlns="urn:3gpp:ns:pss:shDataType:7.0"><Sh-IMS-Data><IMSUserState>1</IMSUserState></Sh-IMS-Data></Sh-Data>`, want: &Data{IMSData: &IMSData{IMSUserState: &reg}}},
		{name: "lenient: ShData root", in: `<ShData><Sh-IMS-Data><IMSUserState>1</IMSUserState></Sh-IMS-Data></ShData>`, want: &Data{IMSData: &IMSData{IMSUserState: &reg}}},
		{name: "SequenceNumber above 65535", in: `<Sh-Data><RepositoryData><ServiceIndication>a</ServiceIndication><SequenceNumber>65536</SequenceNumber></RepositoryData></Sh-Data>`, wantErr: true},
		{name: "IMSUserState out of range", in: `<Sh-Data><Sh-IMS-Data><IMSUserState>7</IMSUserState></Sh-IMS-Data></Sh-Data>`, wantErr: true},
		{name: "wrong root", in: `<foo/>`, wantErr: true},
		{name: "not XML", in: `{}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseData([]byte(tc.in))
			if tc.wantErr {
				if !errors.Is(err, ErrBadData) {
					t.Fatalf("err = %v, want ErrBadData", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Marshal(), tc.want.Marshal()) {
				t.Fatalf("got  %s\nwant %s", got.Marshal(), tc.want.Marshal())
			}
			again, err := ParseData(got.Marshal())
			if err != nil || !bytes.Equal(again.Marshal(), got.Marshal()) {
				t.Fatalf("round trip: %v\n%s", err, again.Marshal())
			}
		})
	}
}

func FuzzParseData(f *testing.F) {
	f.Add([]byte(`<Sh-Data><RepositoryData><ServiceIndication>P</ServiceIndication><SequenceNumber>3</SequenceNumber><ServiceData><x/></ServiceData></RepositoryData><Sh-IMS-Data><SCSCFName>sip:s</SCSCFName><IMSUserState>1</IMSUserState></Sh-IMS-Data></Sh-Data>`))
	f.Add([]byte(`<Sh-Data><PublicIdentifiers><IMSPublicIdentity>sip:a@b</IMSPublicIdentity></PublicIdentifiers></Sh-Data>`))
	f.Add([]byte(`<ShData/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseData(b)
		if err != nil {
			return
		}
		d2, err := ParseData(d.Marshal())
		if err != nil {
			t.Fatalf("re-parse of %s: %v", d.Marshal(), err)
		}
		if !bytes.Equal(d2.Marshal(), d.Marshal()) {
			t.Fatalf("not stable:\n%s\n%s", d.Marshal(), d2.Marshal())
		}
	})
}
