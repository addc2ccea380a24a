package dict_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imsps/imsps/diameter/dict"
)

func TestNewHoldsOnlyNamedApps(t *testing.T) {
	tests := []struct {
		name string
		apps []dict.App
		want []dict.App
	}{
		{"RFC6733 §5.3: base only advertises nothing", nil, nil},
		{"TS29.329: Sh only", []dict.App{dict.Sh}, []dict.App{dict.Sh}},
		{"TS29.109: Zh and Zn", []dict.App{dict.Zh, dict.Zn}, []dict.App{dict.Zh, dict.Zn}},
		{"duplicates collapse", []dict.App{dict.Sh, dict.Sh, dict.Base}, []dict.App{dict.Sh}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := dict.New(tc.apps...)
			if err != nil {
				t.Fatal(err)
			}
			got := dict.Apps(p)
			if len(got) != len(tc.want) {
				t.Fatalf("apps = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("apps = %v, want %v", got, tc.want)
				}
			}
		})
	}
	if _, err := dict.New(dict.App(4)); err == nil {
		t.Fatal("unknown application accepted")
	}
}

// Every AVP the Go constants name must be declared inside the application that uses it,
// with the right type and vendor (go-diameter falls back only to the base application).
func TestAVPDeclaredInApplication(t *testing.T) {
	p, err := dict.New(dict.Sh, dict.Zh, dict.Zn)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		code   uint32
		name   string
		typ    string
		vendor uint32
		mbit   bool
	}
	sh := []want{
		{dict.AVPUserIdentity, "User-Identity", "Grouped", 10415, true},
		{dict.AVPMSISDN, "MSISDN", "OctetString", 10415, true},
		{dict.AVPUserData, "User-Data", "OctetString", 10415, true},
		{dict.AVPDataReference, "Data-Reference", "Enumerated", 10415, true},
		{dict.AVPServiceIndication, "Service-Indication", "OctetString", 10415, true},
		{dict.AVPSubsReqType, "Subs-Req-Type", "Enumerated", 10415, true},
		{dict.AVPRequestedDomain, "Requested-Domain", "Enumerated", 10415, true},
		{dict.AVPCurrentLocation, "Current-Location", "Enumerated", 10415, true},
		{dict.AVPIdentitySet, "Identity-Set", "Enumerated", 10415, false},
		{dict.AVPExpiryTime, "Expiry-Time", "Time", 10415, false},
		{dict.AVPSendDataIndication, "Send-Data-Indication", "Enumerated", 10415, false},
		{dict.AVPDSAITag, "DSAI-Tag", "OctetString", 10415, true},
		{dict.AVPOneTimeNotification, "One-Time-Notification", "Enumerated", 10415, false},
		{dict.AVPRequestedNodes, "Requested-Nodes", "Unsigned32", 10415, false},
		{dict.AVPServingNodeIndication, "Serving-Node-Indication", "Enumerated", 10415, false},
		{dict.AVPRepositoryDataID, "Repository-Data-ID", "Grouped", 10415, false},
		{dict.AVPSequenceNumber, "Sequence-Number", "Unsigned32", 10415, false},
		{dict.AVPPrePagingSupported, "Pre-paging-Supported", "Enumerated", 10415, false},
		{dict.AVPLocalTimeZoneIndication, "Local-Time-Zone-Indication", "Enumerated", 10415, false},
		{dict.AVPUDRFlags, "UDR-Flags", "Unsigned32", 10415, false},
		{dict.AVPCallReferenceInfo, "Call-Reference-Info", "Grouped", 10415, false},
		{dict.AVPCallReferenceNumber, "Call-Reference-Number", "OctetString", 10415, false},
		{dict.AVPASNumber, "AS-Number", "OctetString", 10415, false},
		{dict.AVPPublicIdentity, "Public-Identity", "UTF8String", 10415, true},
		{dict.AVPServerName, "Server-Name", "UTF8String", 10415, true},
		{dict.AVPSupportedFeatures, "Supported-Features", "Grouped", 10415, false},
		{dict.AVPFeatureListID, "Feature-List-ID", "Unsigned32", 10415, false},
		{dict.AVPFeatureList, "Feature-List", "Unsigned32", 10415, false},
		{dict.AVPWildcardedPublicIdentity, "Wildcarded-Public-Identity", "UTF8String", 10415, false},
		{dict.AVPWildcardedIMPU, "Wildcarded-IMPU", "UTF8String", 10415, false},
		{dict.AVPSessionPriority, "Session-Priority", "Enumerated", 10415, false},
		{dict.AVPExternalIdentifier, "External-Identifier", "UTF8String", 10415, true},
	}
	gba := []want{
		{dict.AVPGBAUserSecSettings, "GBA-UserSecSettings", "OctetString", 10415, true},
		{dict.AVPTransactionIdentifier, "Transaction-Identifier", "OctetString", 10415, true},
		{dict.AVPNAFID, "NAF-Id", "OctetString", 10415, true},
		{dict.AVPGAAServiceIdentifier, "GAA-Service-Identifier", "OctetString", 10415, true},
		{dict.AVPKeyExpiryTime, "Key-ExpiryTime", "Time", 10415, true},
		{dict.AVPMEKeyMaterial, "ME-Key-Material", "OctetString", 10415, true},
		{dict.AVPUICCKeyMaterial, "UICC-Key-Material", "OctetString", 10415, true},
		{dict.AVPGBAUAwarenessIndicator, "GBA_U-Awareness-Indicator", "Enumerated", 10415, true},
		{dict.AVPBootstrapInfoCreationTime, "BootstrapInfoCreationTime", "Time", 10415, true},
		{dict.AVPGUSSTimestamp, "GUSS-Timestamp", "Time", 10415, false},
		{dict.AVPGBAType, "GBA-Type", "Enumerated", 10415, true},
		{dict.AVPPublicIdentity, "Public-Identity", "UTF8String", 10415, true},
		{dict.AVPSupportedFeatures, "Supported-Features", "Grouped", 10415, false},
	}
	zh := append([]want{
		{dict.AVPSIPNumberAuthItems, "SIP-Number-Auth-Items", "Unsigned32", 10415, true},
		{dict.AVPSIPAuthenticationScheme, "SIP-Authentication-Scheme", "UTF8String", 10415, true},
		{dict.AVPSIPAuthenticate, "SIP-Authenticate", "OctetString", 10415, true},
		{dict.AVPSIPAuthorization, "SIP-Authorization", "OctetString", 10415, true},
		{dict.AVPSIPAuthenticationContext, "SIP-Authentication-Context", "OctetString", 10415, true},
		{dict.AVPSIPAuthDataItem, "SIP-Auth-Data-Item", "Grouped", 10415, true},
		{dict.AVPSIPItemNumber, "SIP-Item-Number", "Unsigned32", 10415, true},
		{dict.AVPConfidentialityKey, "Confidentiality-Key", "OctetString", 10415, true},
		{dict.AVPIntegrityKey, "Integrity-Key", "OctetString", 10415, true},
	}, gba...)
	zn := append([]want{
		{dict.AVPUEID, "UE-Id", "OctetString", 10415, true},
		{dict.AVPUEIDType, "UE-Id-Type", "Enumerated", 10415, true},
		{dict.AVPUICCAppLabel, "UICC-App-Label", "OctetString", 10415, true},
		{dict.AVPUICCME, "UICC-ME", "Enumerated", 10415, true},
		{dict.AVPRequestedKeyLifetime, "Requested-Key-Lifetime", "Time", 10415, true},
		{dict.AVPPrivateIdentityRequest, "Private-Identity-Request", "Enumerated", 10415, true},
		{dict.AVPGBAPushInfo, "GBA-Push-Info", "OctetString", 10415, true},
		{dict.AVPNAFSAIdentifier, "NAF-SA-Identifier", "OctetString", 10415, true},
		{dict.AVPSecurityFeatureRequest, "Security-Feature-Request", "OctetString", 10415, true},
		{dict.AVPSecurityFeatureResponse, "Security-Feature-Response", "OctetString", 10415, true},
	}, gba...)
	base := []want{
		{dict.AVPSessionID, "Session-Id", "UTF8String", 0, true},
		{dict.AVPOriginHost, "Origin-Host", "DiameterIdentity", 0, true},
		{dict.AVPExperimentalResult, "Experimental-Result", "Grouped", 0, true},
		{dict.AVPExperimentalResultCode, "Experimental-Result-Code", "Unsigned32", 0, true},
		{dict.AVPDisconnectCause, "Disconnect-Cause", "Enumerated", 0, true},
		{dict.AVPDRMP, "DRMP", "Enumerated", 0, false},
	}
	for _, app := range []struct {
		name string
		id   dict.App
		avps []want
	}{{"TS29.329 §6.3 Sh", dict.Sh, append(sh, base...)}, {"TS29.109 §6 Zh", dict.Zh, append(zh, base...)}, {"TS29.109 §6 Zn", dict.Zn, append(zn, base...)}} {
		for _, w := range app.avps {
			t.Run(app.name+"/"+w.name, func(t *testing.T) {
				a, err := p.FindAVPWithVendor(uint32(app.id), w.code, w.vendor)
				if err != nil {
					t.Fatal(err)
				}
				if a.Name != w.name || a.Data.TypeName != w.typ || a.VendorID != w.vendor {
					t.Fatalf("got %s %s vendor %d, want %s %s vendor %d", a.Name, a.Data.TypeName, a.VendorID, w.name, w.typ, w.vendor)
				}
				if w.vendor != 0 && a.App.ID != uint32(app.id) {
					t.Fatalf("%s found in application %d, not inside %d", w.name, a.App.ID, app.id)
				}
				hasM := bytes.Contains([]byte(a.Must), []byte("M"))
				if hasM != w.mbit {
					t.Fatalf("%s must=%q, want M bit %v", w.name, a.Must, w.mbit)
				}
			})
		}
	}
}

func TestDataReferenceValues(t *testing.T) {
	p, err := dict.New(dict.Sh)
	if err != nil {
		t.Fatal(err)
	}
	// TS 29.328 Table 7.6.1: 20 is reserved, 22 is IPAddressSecureBindingInformation.
	for code, name := range map[dict.DataReference]string{
		dict.RepositoryData: "RepositoryData", dict.IMSPublicIdentity: "IMSPublicIdentity",
		dict.IMSUserState: "IMSUserState", dict.SCSCFName: "S-CSCFName", dict.MSISDN: "MSISDN",
		dict.IPAddressSecureBindingInformation: "IPAddressSecureBindingInformation",
		dict.UE5GSRVCCCapability:               "UE-5G-SRVCC-Capability",
	} {
		e, err := p.Enum(uint32(dict.Sh), dict.AVPDataReference, int32(code))
		if err != nil || e.Name != name {
			t.Errorf("Data-Reference %d = %v %v, want %s", code, e, err, name)
		}
	}
	if _, err := p.Enum(uint32(dict.Sh), dict.AVPDataReference, 20); err == nil {
		t.Error("Data-Reference 20 is reserved")
	}
}

func TestUDRRoundTrip(t *testing.T) {
	p, err := dict.New(dict.Sh)
	if err != nil {
		t.Fatal(err)
	}
	m := diam.NewRequest(dict.UserData, uint32(dict.Sh), p)
	m.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("as;1;1"))
	m.NewAVP(dict.AVPUserIdentity, avp.Mbit|avp.Vbit, dict.Vendor3GPP, &diam.GroupedAVP{AVP: []*diam.AVP{
		diam.NewAVP(dict.AVPPublicIdentity, avp.Mbit|avp.Vbit, dict.Vendor3GPP, datatype.UTF8String("sip:alice@example.com")),
	}})
	m.NewAVP(dict.AVPDataReference, avp.Mbit|avp.Vbit, dict.Vendor3GPP, datatype.Enumerated(dict.IMSUserState))
	m.NewAVP(dict.AVPIdentitySet, avp.Vbit, dict.Vendor3GPP, datatype.Enumerated(dict.AliasIdentities))
	m.NewAVP(dict.AVPExpiryTime, avp.Vbit, dict.Vendor3GPP, datatype.Time(time.Unix(1e9, 0)))
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := diam.ReadMessage(&buf, p)
	if err != nil {
		t.Fatal(err)
	}
	a, err := got.FindAVPsWithPath([]interface{}{dict.AVPUserIdentity, dict.AVPPublicIdentity}, dict.Vendor3GPP)
	if err != nil || len(a) != 1 || a[0].Data.(datatype.UTF8String) != "sip:alice@example.com" {
		t.Fatalf("Public-Identity = %v, %v", a, err)
	}
	if s := got.String(); bytes.Contains([]byte(s), []byte("Unknown")) {
		t.Fatalf("undecoded AVPs:\n%s", s)
	}
}

func TestExperimentalResultString(t *testing.T) {
	if s := dict.ErrorUserUnknown.String(); s != "DIAMETER_ERROR_USER_UNKNOWN (5001)" {
		t.Fatal(s)
	}
	if !dict.UserDataNotAvailable.Transient() || dict.ErrorUserUnknown.Transient() {
		t.Fatal("Transient")
	}
}
