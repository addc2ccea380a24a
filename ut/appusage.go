package ut

import "context"

// AppUsage is one XCAP application usage (RFC 4825 §5): the documents under one AUID.
// Each lives in its own folder under ut/auid and is registered by cmd/imsps; adding one is
// one folder and one line in the wiring.
type AppUsage interface {
	// AUID is the application unique ID, the first path segment under the XCAP root.
	AUID() string
	// MediaType is the MIME type of a whole document (RFC 4825 §5.2).
	MediaType() string
	// DefaultNamespace is the namespace of unprefixed node-selector steps (RFC 4825 §6.3).
	DefaultNamespace() string
	// Check validates a complete candidate document, after the engine applied a PUT or
	// DELETE to it: XML Schema validity (RFC 4825 §5.4) and the usage's extra constraints
	// (§5.5, e.g. uniqueness). It returns a *Conflict for a 409, any other error for a 500.
	Check(ctx context.Context, c Candidate) error
}

// Candidate is a document a write would store.
type Candidate struct {
	Key  DocumentKey
	Body []byte
	// Documents reads other stored documents of the same AUID, for constraints that span
	// documents (rls-services service URIs are unique across all users).
	Documents DocumentReader
}

// DocumentKey names one document: AUID, the user (XUI, empty in the global tree) and the
// document path below the user's folder (e.g. "index").
type DocumentKey struct {
	AUID string
	XUI  string // empty for global documents
	Name string
}

// Global reports whether the key names a document in the global tree.
func (k DocumentKey) Global() bool { return k.XUI == "" }

// DocumentReader reads stored documents; the engine passes a view consistent with the write
// being checked.
type DocumentReader interface {
	// Each visits every stored document of an AUID; fn returning an error stops the walk.
	Each(ctx context.Context, auid string, fn func(key DocumentKey, body []byte) error) error
}

// ChangeObserver is implemented by application usages that act when one of their documents
// changes (pidf-manipulation re-composes presence). Changed runs after the write committed;
// body is nil when the document was deleted.
type ChangeObserver interface {
	Changed(ctx context.Context, key DocumentKey, body []byte)
}

// DocumentNamer is implemented by application usages that restrict document names
// (pidf-manipulation allows only "index" in the users tree, RFC 4827 §5).
type DocumentNamer interface {
	// AllowName returns a *Conflict or an error explaining why the name is refused.
	AllowName(key DocumentKey) error
}

// Generator is implemented by read-only application usages whose documents the server builds
// (xcap-caps, xcap-directory). Writes to them answer 405 with Allow: GET.
type Generator interface {
	Generate(ctx context.Context, key DocumentKey, docs DocumentReader) ([]byte, error)
}

// GlobalGenerator is implemented by application usages whose users write their own
// documents while the server builds the global tree from them (rls-services: the global
// index of every user's services, RFC 4826 §4.4.8). Writes to the global tree answer 405.
type GlobalGenerator interface {
	GlobalGenerator() Generator
}
