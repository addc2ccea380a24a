package as

import (
	"context"
	"errors"
)

// Store is durable, transactional storage. Every Update is committed (fsynced) before it
// returns nil, so a caller may acknowledge the write on the wire afterwards. Implementations
// may group-commit concurrent Updates; fn may therefore run more than once and must not have
// side effects outside the transaction: do them after Update returns.
type Store interface {
	View(ctx context.Context, fn func(Tx) error) error
	Update(ctx context.Context, fn func(Tx) error) error
}

// Tx is one transaction over named buckets. Keys are opaque strings; values are copied
// on Put, and the slices Get and ForEach return are valid only inside the transaction.
type Tx interface {
	Get(bucket Bucket, key string) []byte
	Put(bucket Bucket, key string, value []byte) error
	Delete(bucket Bucket, key string) error
	// ForEach visits keys with the given prefix in byte order; a non-nil error from fn stops it.
	ForEach(bucket Bucket, prefix string, fn func(key string, value []byte) error) error
	// NextSequence returns a per-bucket counter that increases by one on each call.
	NextSequence(bucket Bucket) (uint64, error)
}

// Bucket names one keyspace. The full list lives here so that one place owns the layout.
type Bucket string

// The buckets imsps uses. Key formats are documented where each bucket's owner encodes them.
const (
	BucketPublications  Bucket = "publications"  // RFC 3903 soft state, owned by as
	BucketSubscriptions Bucket = "subscriptions" // RFC 6665 dialogs, owned by as
	BucketDocuments     Bucket = "xcap-documents"
	BucketMIMEObjects   Bucket = "xcap-mime-objects"
	BucketBootstrap     Bucket = "gba-bootstrap" // B-TID sessions, owned by bsf
	BucketNonces        Bucket = "http-digest-nonces"
	BucketMeta          Bucket = "meta"
)

// Buckets lists every bucket so that a Store can create them when it opens.
var Buckets = []Bucket{
	BucketPublications, BucketSubscriptions, BucketDocuments, BucketMIMEObjects,
	BucketBootstrap, BucketNonces, BucketMeta,
}

// ErrStoreClosed is returned by a Store after Close.
var ErrStoreClosed = errors.New("store closed")
