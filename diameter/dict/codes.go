package dict

import "fmt"

// Command codes (RFC 6733 §3.1, TS 29.329 §6.1, TS 29.109 §4-5).
const (
	CapabilitiesExchange   uint32 = 257 // CER/CEA
	DeviceWatchdog         uint32 = 280 // DWR/DWA
	DisconnectPeer         uint32 = 282 // DPR/DPA
	MultimediaAuth         uint32 = 303 // Zh MAR/MAA
	UserData               uint32 = 306 // Sh UDR/UDA
	ProfileUpdate          uint32 = 307 // Sh PUR/PUA
	SubscribeNotifications uint32 = 308 // Sh SNR/SNA
	PushNotification       uint32 = 309 // Sh PNR/PNA
	BootstrappingInfo      uint32 = 310 // Zn BIR/BIA
	GBAPushInfo            uint32 = 312 // Zn GPR/GPA
)

// Base AVP codes (RFC 6733 §4.5, RFC 7944, RFC 7683).
const (
	AVPUserName                    uint32 = 1
	AVPClass                       uint32 = 25
	AVPSessionTimeout              uint32 = 27
	AVPProxyState                  uint32 = 33
	AVPEventTimestamp              uint32 = 55
	AVPHostIPAddress               uint32 = 257
	AVPAuthApplicationID           uint32 = 258
	AVPAcctApplicationID           uint32 = 259
	AVPVendorSpecificApplicationID uint32 = 260
	AVPSessionID                   uint32 = 263
	AVPOriginHost                  uint32 = 264
	AVPSupportedVendorID           uint32 = 265
	AVPVendorID                    uint32 = 266
	AVPFirmwareRevision            uint32 = 267
	AVPResultCode                  uint32 = 268
	AVPProductName                 uint32 = 269
	AVPDisconnectCause             uint32 = 273
	AVPAuthSessionState            uint32 = 277
	AVPOriginStateID               uint32 = 278
	AVPFailedAVP                   uint32 = 279
	AVPProxyHost                   uint32 = 280
	AVPErrorMessage                uint32 = 281
	AVPRouteRecord                 uint32 = 282
	AVPDestinationRealm            uint32 = 283
	AVPProxyInfo                   uint32 = 284
	AVPDestinationHost             uint32 = 293
	AVPErrorReportingHost          uint32 = 294
	AVPOriginRealm                 uint32 = 296
	AVPExperimentalResult          uint32 = 297
	AVPExperimentalResultCode      uint32 = 298
	AVPInbandSecurityID            uint32 = 299
	AVPDRMP                        uint32 = 301
	AVPOCSupportedFeatures         uint32 = 621
	AVPOCOLR                       uint32 = 623
)

// 3GPP AVP codes (vendor 10415): Sh (TS 29.329 §6.3), Cx re-used (TS 29.229 §6.3),
// GBA (TS 29.109 §6), External-Identifier (TS 29.336).
const (
	AVPGBAUserSecSettings        uint32 = 400
	AVPTransactionIdentifier     uint32 = 401
	AVPNAFID                     uint32 = 402
	AVPGAAServiceIdentifier      uint32 = 403
	AVPKeyExpiryTime             uint32 = 404
	AVPMEKeyMaterial             uint32 = 405
	AVPUICCKeyMaterial           uint32 = 406
	AVPGBAUAwarenessIndicator    uint32 = 407
	AVPBootstrapInfoCreationTime uint32 = 408
	AVPGUSSTimestamp             uint32 = 409
	AVPGBAType                   uint32 = 410
	AVPUEID                      uint32 = 411
	AVPUEIDType                  uint32 = 412
	AVPUICCAppLabel              uint32 = 413
	AVPUICCME                    uint32 = 414
	AVPRequestedKeyLifetime      uint32 = 415
	AVPPrivateIdentityRequest    uint32 = 416
	AVPGBAPushInfo               uint32 = 417
	AVPNAFSAIdentifier           uint32 = 418
	AVPSecurityFeatureRequest    uint32 = 419
	AVPSecurityFeatureResponse   uint32 = 420

	AVPPublicIdentity           uint32 = 601
	AVPServerName               uint32 = 602
	AVPSIPNumberAuthItems       uint32 = 607
	AVPSIPAuthenticationScheme  uint32 = 608
	AVPSIPAuthenticate          uint32 = 609
	AVPSIPAuthorization         uint32 = 610
	AVPSIPAuthenticationContext uint32 = 611
	AVPSIPAuthDataItem          uint32 = 612
	AVPSIPItemNumber            uint32 = 613
	AVPConfidentialityKey       uint32 = 625
	AVPIntegrityKey             uint32 = 626
	AVPSupportedFeatures        uint32 = 628
	AVPFeatureListID            uint32 = 629
	AVPFeatureList              uint32 = 630
	AVPWildcardedPublicIdentity uint32 = 634
	AVPWildcardedIMPU           uint32 = 636
	AVPSessionPriority          uint32 = 650

	AVPUserIdentity            uint32 = 700
	AVPMSISDN                  uint32 = 701
	AVPUserData                uint32 = 702
	AVPDataReference           uint32 = 703
	AVPServiceIndication       uint32 = 704
	AVPSubsReqType             uint32 = 705
	AVPRequestedDomain         uint32 = 706
	AVPCurrentLocation         uint32 = 707
	AVPIdentitySet             uint32 = 708
	AVPExpiryTime              uint32 = 709
	AVPSendDataIndication      uint32 = 710
	AVPDSAITag                 uint32 = 711
	AVPOneTimeNotification     uint32 = 712
	AVPRequestedNodes          uint32 = 713
	AVPServingNodeIndication   uint32 = 714
	AVPRepositoryDataID        uint32 = 715
	AVPSequenceNumber          uint32 = 716
	AVPPrePagingSupported      uint32 = 717
	AVPLocalTimeZoneIndication uint32 = 718
	AVPUDRFlags                uint32 = 719
	AVPCallReferenceInfo       uint32 = 720
	AVPCallReferenceNumber     uint32 = 721
	AVPASNumber                uint32 = 722

	AVPExternalIdentifier uint32 = 3111
)

// Auth-Session-State values (RFC 6733 §8.11).
const (
	StateMaintained   int32 = 0
	NoStateMaintained int32 = 1
)

// Disconnect-Cause values (RFC 6733 §5.4.3).
const (
	Rebooting            int32 = 0
	Busy                 int32 = 1
	DoNotWantToTalkToYou int32 = 2
)

// DataReference is the Sh Data-Reference AVP value (TS 29.328 Table 7.6.1; 20 is reserved).
type DataReference int32

// Data-Reference values.
const (
	RepositoryData                    DataReference = 0
	IMSPublicIdentity                 DataReference = 10
	IMSUserState                      DataReference = 11
	SCSCFName                         DataReference = 12
	InitialFilterCriteria             DataReference = 13
	LocationInformation               DataReference = 14
	UserState                         DataReference = 15
	ChargingInformation               DataReference = 16
	MSISDN                            DataReference = 17
	PSIActivation                     DataReference = 18
	DSAI                              DataReference = 19
	ServiceLevelTraceInfo             DataReference = 21
	IPAddressSecureBindingInformation DataReference = 22
	ServicePriorityLevel              DataReference = 23
	SMSRegistrationInfo               DataReference = 24
	UEReachabilityForIP               DataReference = 25
	TADSInformation                   DataReference = 26
	STNSR                             DataReference = 27
	UESRVCCCapability                 DataReference = 28
	ExtendedPriority                  DataReference = 29
	CSRN                              DataReference = 30
	ReferenceLocationInformation      DataReference = 31
	IMSI                              DataReference = 32
	IMSPrivateUserIdentity            DataReference = 33
	IMEISV                            DataReference = 34
	UE5GSRVCCCapability               DataReference = 35
)

// IdentitySet is the Sh Identity-Set AVP value (TS 29.329 §6.3.10).
type IdentitySet int32

// Identity-Set values.
const (
	AllIdentities        IdentitySet = 0
	RegisteredIdentities IdentitySet = 1
	ImplicitIdentities   IdentitySet = 2
	AliasIdentities      IdentitySet = 3
)

// Subs-Req-Type values (TS 29.329 §6.3.6).
const (
	Subscribe   int32 = 0
	Unsubscribe int32 = 1
)

// Send-Data-Indication values (TS 29.329 §6.3.12).
const (
	UserDataNotRequested int32 = 0
	UserDataRequested    int32 = 1
)

// ResultCode is a base Result-Code value (RFC 6733 §7.1).
type ResultCode uint32

// Result-Code values imsps sends or acts on.
const (
	Success                ResultCode = 2001
	CommandUnsupported     ResultCode = 3001
	UnableToDeliver        ResultCode = 3002
	RealmNotServed         ResultCode = 3003
	TooBusy                ResultCode = 3004
	ApplicationUnsupported ResultCode = 3007
	InvalidHdrBits         ResultCode = 3008
	InvalidAVPBits         ResultCode = 3009
	UnknownPeer            ResultCode = 3010
	AuthenticationRejected ResultCode = 4001
	AVPUnsupported         ResultCode = 5001
	UnknownSessionID       ResultCode = 5002
	AuthorizationRejected  ResultCode = 5003
	InvalidAVPValue        ResultCode = 5004
	MissingAVP             ResultCode = 5005
	NoCommonApplication    ResultCode = 5010
	UnableToComply         ResultCode = 5012
	InvalidAVPLength       ResultCode = 5014
)

// ExperimentalResult is an Experimental-Result {Vendor-Id, Experimental-Result-Code}
// (RFC 6733 §7.6); Sh, Zh and Zn send their errors this way, with Result-Code absent.
type ExperimentalResult struct{ Vendor, Code uint32 }

// Experimental-Result values of TS 29.329 §6.2, TS 29.229 §6.2 and TS 29.109 §6.3.
var (
	UserDataNotAvailable              = ExperimentalResult{Vendor3GPP, 4100} // transient
	PriorUpdateInProgress             = ExperimentalResult{Vendor3GPP, 4101} // transient
	ErrorUserUnknown                  = ExperimentalResult{Vendor3GPP, 5001}
	ErrorIdentitiesDontMatch          = ExperimentalResult{Vendor3GPP, 5002}
	ErrorTooMuchData                  = ExperimentalResult{Vendor3GPP, 5008}
	ErrorFeatureUnsupported           = ExperimentalResult{Vendor3GPP, 5011}
	ErrorUserDataNotRecognized        = ExperimentalResult{Vendor3GPP, 5100}
	ErrorOperationNotAllowed          = ExperimentalResult{Vendor3GPP, 5101}
	ErrorUserDataCannotBeRead         = ExperimentalResult{Vendor3GPP, 5102}
	ErrorUserDataCannotBeModified     = ExperimentalResult{Vendor3GPP, 5103}
	ErrorUserDataCannotBeNotified     = ExperimentalResult{Vendor3GPP, 5104}
	ErrorTransparentDataOutOfSync     = ExperimentalResult{Vendor3GPP, 5105}
	ErrorSubsDataAbsent               = ExperimentalResult{Vendor3GPP, 5106}
	ErrorNoSubscriptionToData         = ExperimentalResult{Vendor3GPP, 5107}
	ErrorDSAINotAvailable             = ExperimentalResult{Vendor3GPP, 5108}
	ErrorIMPIUnknown                  = ExperimentalResult{Vendor3GPP, 5401}
	ErrorNotAuthorized                = ExperimentalResult{Vendor3GPP, 5402}
	ErrorTransactionIdentifierInvalid = ExperimentalResult{Vendor3GPP, 5403}
)

// Transient reports whether the result is a 4xxx (try again later).
func (r ExperimentalResult) Transient() bool { return r.Code >= 4000 && r.Code < 5000 }

func (r ExperimentalResult) String() string {
	if r.Vendor == Vendor3GPP {
		if n := experimentalName(r.Code); n != "" {
			return fmt.Sprintf("%s (%d)", n, r.Code)
		}
	}
	return fmt.Sprintf("Experimental-Result %d/%d", r.Vendor, r.Code)
}

func experimentalName(code uint32) string {
	switch code {
	case 4100:
		return "DIAMETER_USER_DATA_NOT_AVAILABLE"
	case 4101:
		return "DIAMETER_PRIOR_UPDATE_IN_PROGRESS"
	case 5001:
		return "DIAMETER_ERROR_USER_UNKNOWN"
	case 5002:
		return "DIAMETER_ERROR_IDENTITIES_DONT_MATCH"
	case 5008:
		return "DIAMETER_ERROR_TOO_MUCH_DATA"
	case 5011:
		return "DIAMETER_ERROR_FEATURE_UNSUPPORTED"
	case 5100:
		return "DIAMETER_ERROR_USER_DATA_NOT_RECOGNIZED"
	case 5101:
		return "DIAMETER_ERROR_OPERATION_NOT_ALLOWED"
	case 5102:
		return "DIAMETER_ERROR_USER_DATA_CANNOT_BE_READ"
	case 5103:
		return "DIAMETER_ERROR_USER_DATA_CANNOT_BE_MODIFIED"
	case 5104:
		return "DIAMETER_ERROR_USER_DATA_CANNOT_BE_NOTIFIED"
	case 5105:
		return "DIAMETER_ERROR_TRANSPARENT_DATA_OUT_OF_SYNC"
	case 5106:
		return "DIAMETER_ERROR_SUBS_DATA_ABSENT"
	case 5107:
		return "DIAMETER_ERROR_NO_SUBSCRIPTION_TO_DATA"
	case 5108:
		return "DIAMETER_ERROR_DSAI_NOT_AVAILABLE"
	case 5401:
		return "DIAMETER_ERROR_IMPI_UNKNOWN"
	case 5402:
		return "DIAMETER_ERROR_NOT_AUTHORIZED"
	case 5403:
		return "DIAMETER_ERROR_TRANSACTION_IDENTIFIER_INVALID"
	}
	return ""
}

func (c ResultCode) String() string {
	if n := resultName(c); n != "" {
		return fmt.Sprintf("%s (%d)", n, uint32(c))
	}
	return fmt.Sprintf("Result-Code %d", uint32(c))
}

func resultName(c ResultCode) string {
	switch c {
	case Success:
		return "DIAMETER_SUCCESS"
	case CommandUnsupported:
		return "DIAMETER_COMMAND_UNSUPPORTED"
	case UnableToDeliver:
		return "DIAMETER_UNABLE_TO_DELIVER"
	case RealmNotServed:
		return "DIAMETER_REALM_NOT_SERVED"
	case TooBusy:
		return "DIAMETER_TOO_BUSY"
	case ApplicationUnsupported:
		return "DIAMETER_APPLICATION_UNSUPPORTED"
	case InvalidHdrBits:
		return "DIAMETER_INVALID_HDR_BITS"
	case InvalidAVPBits:
		return "DIAMETER_INVALID_AVP_BITS"
	case UnknownPeer:
		return "DIAMETER_UNKNOWN_PEER"
	case AuthenticationRejected:
		return "DIAMETER_AUTHENTICATION_REJECTED"
	case AVPUnsupported:
		return "DIAMETER_AVP_UNSUPPORTED"
	case UnknownSessionID:
		return "DIAMETER_UNKNOWN_SESSION_ID"
	case AuthorizationRejected:
		return "DIAMETER_AUTHORIZATION_REJECTED"
	case InvalidAVPValue:
		return "DIAMETER_INVALID_AVP_VALUE"
	case MissingAVP:
		return "DIAMETER_MISSING_AVP"
	case NoCommonApplication:
		return "DIAMETER_NO_COMMON_APPLICATION"
	case UnableToComply:
		return "DIAMETER_UNABLE_TO_COMPLY"
	case InvalidAVPLength:
		return "DIAMETER_INVALID_AVP_LENGTH"
	}
	return ""
}
