package ut

import (
	"bytes"
	"context"
	"net/http"

	"github.com/imsps/imsps/as"
)

// Stored MIME objects (TS 24.141 §6.3.2.4 a/b, flow A.8.4): plain HTTP PUT/GET/DELETE of
// any content (an image a presence document points at) below
// <root>/<xcap.mime.auid>/users/<XUI>/<path>. The content type is kept; PUT answers 201
// when it creates the object and 200 when it replaces it; folders are implicit.

func (s *Server) mimeObject(ctx context.Context, r *http.Request, u URI) (reply, error) {
	if u.Node != nil || u.Document == "" || len(u.Namespaces) > 0 {
		return reply{}, ErrNotFound
	}
	key := mimeKey(u.XUI, u.Document)
	switch r.Method {
	case http.MethodPut:
		body, err := readBody(r, s.cfg.MIME.MaxSize, "MIME object")
		if err != nil {
			return reply{}, err
		}
		ctype := r.Header.Get("Content-Type")
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		etag := s.newETag()
		created := false
		err = s.st.Update(ctx, func(tx as.Tx) error {
			v := tx.Get(as.BucketMIMEObjects, key)
			cur, err := mimeETag(v)
			if err != nil {
				return err
			}
			if err := preconditions(r, v != nil, cur); err != nil {
				return err
			}
			created = v == nil
			if created && u.XUI != "" {
				n, err := countUserDocs(tx, s.auids, u.XUI)
				if err != nil {
					return err
				}
				if n >= s.cfg.MaxDocumentsPerUser {
					return &TooLargeError{What: "documents per user"}
				}
			}
			return tx.Put(as.BucketMIMEObjects, key, encodeRecord(etag, ctype, true, body))
		})
		if err != nil {
			return reply{}, err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return reply{status: status, etag: etag}, nil
	case http.MethodDelete:
		err := s.st.Update(ctx, func(tx as.Tx) error {
			v := tx.Get(as.BucketMIMEObjects, key)
			cur, err := mimeETag(v)
			if err != nil {
				return err
			}
			if err := preconditions(r, v != nil, cur); err != nil {
				return err
			}
			if v == nil {
				return ErrNotFound
			}
			return tx.Delete(as.BucketMIMEObjects, key)
		})
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK}, nil
	}
	var (
		found       bool
		etag, ctype string
		body        []byte
	)
	err := s.st.View(ctx, func(tx as.Tx) error {
		v := tx.Get(as.BucketMIMEObjects, key)
		if v == nil {
			return nil
		}
		found = true
		var b []byte
		var err error
		etag, ctype, b, err = decodeRecord(v, true)
		body = bytes.Clone(b)
		return err
	})
	if err != nil {
		return reply{}, err
	}
	if err := preconditions(r, found, etag); err != nil {
		return reply{etag: etag}, err
	}
	if !found {
		return reply{}, ErrNotFound
	}
	return reply{status: http.StatusOK, contentType: ctype, etag: etag, body: body}, nil
}

func mimeETag(v []byte) (string, error) {
	if v == nil {
		return "", nil
	}
	etag, _, _, err := decodeRecord(v, true)
	return etag, err
}
