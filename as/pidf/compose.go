package pidf

// Compose builds one application/pidf+xml document for entity from the hard state
// (RFC 4827 pidf-manipulation, may be nil) and the live soft-state publications.
func Compose(entity string, hard *Document, soft []Source) []byte {
	return nil
}
