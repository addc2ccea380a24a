package ut

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync"

	"github.com/imsps/imsps/as"
)

// Storage layout (owned here):
//
//	as.BucketDocuments    key "<auid>\x00<xui>\x00<document path>"  (xui empty: global tree)
//	                      value: 0x01, uvarint len(etag), etag, document bytes as sent
//	as.BucketMIMEObjects  key "<xui>\x00<object path>"
//	                      value: 0x01, uvarint len(etag), etag, uvarint len(type), type, bytes
//
// NUL cannot appear in a parsed XCAP URI, so keys are unambiguous and a prefix scan by
// "<auid>\x00" or "<auid>\x00<xui>\x00" lists an AUID's or a user's documents.

const recordVersion = 1

func docKey(k DocumentKey) string { return k.AUID + "\x00" + k.XUI + "\x00" + k.Name }

func docKeyParse(s string) (DocumentKey, bool) {
	parts := strings.SplitN(s, "\x00", 3)
	if len(parts) != 3 {
		return DocumentKey{}, false
	}
	return DocumentKey{AUID: parts[0], XUI: parts[1], Name: parts[2]}, true
}

func mimeKey(xui, name string) string { return xui + "\x00" + name }

var errCorrupt = errors.New("corrupt xcap record")

func encodeRecord(etag, ctype string, withType bool, body []byte) []byte {
	out := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(etag)+len(ctype)+len(body))
	out = append(out, recordVersion)
	out = binary.AppendUvarint(out, uint64(len(etag)))
	out = append(out, etag...)
	if withType {
		out = binary.AppendUvarint(out, uint64(len(ctype)))
		out = append(out, ctype...)
	}
	return append(out, body...)
}

// decodeRecord splits a stored value; body aliases v.
func decodeRecord(v []byte, withType bool) (etag, ctype string, body []byte, err error) {
	if len(v) < 1 || v[0] != recordVersion {
		return "", "", nil, errCorrupt
	}
	v = v[1:]
	read := func() (string, bool) {
		n, k := binary.Uvarint(v)
		if k <= 0 || uint64(len(v)-k) < n {
			return "", false
		}
		s := string(v[k : k+int(n)])
		v = v[k+int(n):]
		return s, true
	}
	var ok bool
	if etag, ok = read(); !ok {
		return "", "", nil, errCorrupt
	}
	if withType {
		if ctype, ok = read(); !ok {
			return "", "", nil, errCorrupt
		}
	}
	return etag, ctype, v, nil
}

// txReader is the DocumentReader handed to application usages: it reads through the
// transaction of the write being checked (or a read transaction for generators). Bodies
// passed to fn are valid only during fn.
type txReader struct {
	tx    as.Tx
	auids []string // registered AUIDs, sorted
	// pending is the candidate of the write being checked; it shadows the stored version.
	pending    *DocumentKey
	pendingDoc []byte
}

func (r txReader) Each(ctx context.Context, auid string, fn func(key DocumentKey, body []byte) error) error {
	seenPending := false
	err := r.tx.ForEach(as.BucketDocuments, auid+"\x00", func(k string, v []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		key, ok := docKeyParse(k)
		if !ok {
			return nil
		}
		if r.pending != nil && key == *r.pending {
			seenPending = true
			if r.pendingDoc == nil {
				return nil
			}
			return fn(key, r.pendingDoc)
		}
		_, _, body, err := decodeRecord(v, false)
		if err != nil {
			return err
		}
		return fn(key, body)
	})
	if err != nil {
		return err
	}
	if r.pending != nil && !seenPending && r.pendingDoc != nil && r.pending.AUID == auid {
		return fn(*r.pending, r.pendingDoc)
	}
	return nil
}

// DocumentInfo describes one stored document or MIME object, for generated documents
// (e.g. an xcap-directory listing with ETags).
type DocumentInfo struct {
	Key  DocumentKey
	ETag string
	Size int
}

// InfoReader is implemented by the DocumentReader the engine passes to Generate and
// Check: it lists the documents of one user (every AUID) with their ETags.
type InfoReader interface {
	EachInfo(ctx context.Context, xui string, fn func(DocumentInfo) error) error
}

// EachInfo visits every document of the user, in AUID then name order.
func (r txReader) EachInfo(ctx context.Context, xui string, fn func(DocumentInfo) error) error {
	for _, auid := range r.auids {
		err := r.tx.ForEach(as.BucketDocuments, auid+"\x00"+xui+"\x00", func(k string, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			key, ok := docKeyParse(k)
			if !ok {
				return nil
			}
			etag, _, body, err := decodeRecord(v, false)
			if err != nil {
				return err
			}
			return fn(DocumentInfo{Key: key, ETag: etag, Size: len(body)})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// countUserDocs counts a user's XML documents (across the registered AUIDs) and MIME objects.
func countUserDocs(tx as.Tx, auids []string, xui string) (int, error) {
	n := 0
	count := func(string, []byte) error { n++; return nil }
	for _, a := range auids {
		if err := tx.ForEach(as.BucketDocuments, a+"\x00"+xui+"\x00", count); err != nil {
			return 0, err
		}
	}
	if err := tx.ForEach(as.BucketMIMEObjects, xui+"\x00", count); err != nil {
		return 0, err
	}
	return n, nil
}

// parsedCache keeps parsed documents by key and ETag for node-selector requests, within a
// byte budget (a parsed document is counted as three times its size).
type parsedCache struct {
	mu     sync.Mutex
	budget int
	used   int
	docs   map[DocumentKey]cachedDoc
}

type cachedDoc struct {
	etag string
	doc  *xdoc
}

func docCost(d *xdoc) int { return 3*len(d.src) + 256 }

func newParsedCache(budget int) *parsedCache {
	return &parsedCache{budget: budget, docs: make(map[DocumentKey]cachedDoc)}
}

func (c *parsedCache) get(k DocumentKey, etag string) *xdoc {
	if c.budget == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.docs[k]; ok && d.etag == etag {
		return d.doc
	}
	return nil
}

func (c *parsedCache) put(k DocumentKey, etag string, d *xdoc) {
	cost := docCost(d)
	if cost > c.budget/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.docs[k]; ok {
		c.used -= docCost(old.doc)
		delete(c.docs, k)
	}
	for key, old := range c.docs { // evict arbitrary entries until it fits
		if c.used+cost <= c.budget {
			break
		}
		c.used -= docCost(old.doc)
		delete(c.docs, key)
	}
	c.docs[k] = cachedDoc{etag: etag, doc: d}
	c.used += cost
}
