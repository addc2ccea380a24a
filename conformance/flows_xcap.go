package conformance

// XCAPFlows are the Ut flows of TS 24.141 Annex A in RFC 4825 syntax.
func XCAPFlows() []Flow {
	return nil
}
