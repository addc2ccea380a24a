package ut

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Outcomes the engine reports as errors; status() maps them to HTTP answers.
var (
	// ErrNotFound is returned when the URI selects no document, element or attribute.
	ErrNotFound = errors.New("no such resource")
	// ErrPreconditionFailed is returned when If-Match or If-None-Match fails on a write
	// (or If-Match on a GET): 412.
	ErrPreconditionFailed = errors.New("precondition failed")
	// errNotModified is an If-None-Match hit on a GET: 304.
	errNotModified = errors.New("not modified")
	// ErrForbidden is returned when the identity may not touch the resource: 403.
	ErrForbidden = errors.New("forbidden")
)

// MethodNotAllowedError is a method the resource does not support: 405 with Allow.
type MethodNotAllowedError struct{ Allow string }

func (e *MethodNotAllowedError) Error() string { return "method not allowed; allow " + e.Allow }

// UnsupportedMediaTypeError is a body with the wrong Content-Type: 415.
type UnsupportedMediaTypeError struct{ Got, Want string }

func (e *UnsupportedMediaTypeError) Error() string {
	return fmt.Sprintf("content type %q, want %q", e.Got, e.Want)
}

// TooLargeError is a body or a collection over a configured limit: 413.
type TooLargeError struct{ What string }

func (e *TooLargeError) Error() string { return e.What + " over the configured limit" }

// UnauthorizedError asks for credentials: 401 with the challenges in WWW-Authenticate.
type UnauthorizedError struct {
	Challenges []string
	Reason     string
}

func (e *UnauthorizedError) Error() string { return "unauthorized: " + e.Reason }

const (
	nsXCAPError       = "urn:ietf:params:xml:ns:xcap-error"
	mimeXCAPError     = "application/xcap-error+xml"
	mimeXCAPElement   = "application/xcap-el+xml"
	mimeXCAPAttribute = "application/xcap-att+xml"
	mimeXCAPNS        = "application/xcap-ns+xml"
)

// reply is what a handler answers when it succeeds.
type reply struct {
	status      int
	contentType string
	etag        string
	body        []byte
}

// answer is the one place that turns a handler's outcome into status, headers and body.
func answer(err error) (status int, hdr http.Header, body []byte) {
	hdr = http.Header{}
	var (
		conflict *Conflict
		notAllow *MethodNotAllowedError
		media    *UnsupportedMediaTypeError
		tooLarge *TooLargeError
		unauth   *UnauthorizedError
		uriErr   *URIError
		selErr   *SelectorError
	)
	switch {
	case errors.As(err, &conflict):
		hdr.Set("Content-Type", mimeXCAPError)
		return http.StatusConflict, hdr, conflictBody(conflict)
	case errors.Is(err, errNotModified):
		return http.StatusNotModified, hdr, nil
	case errors.Is(err, ErrPreconditionFailed):
		return http.StatusPreconditionFailed, hdr, nil
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, hdr, nil
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, hdr, nil
	case errors.As(err, &notAllow):
		hdr.Set("Allow", notAllow.Allow)
		return http.StatusMethodNotAllowed, hdr, nil
	case errors.As(err, &media):
		return http.StatusUnsupportedMediaType, hdr, nil
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, hdr, nil
	case errors.As(err, &unauth):
		for _, c := range unauth.Challenges {
			hdr.Add("WWW-Authenticate", c)
		}
		if len(unauth.Challenges) == 0 {
			return http.StatusForbidden, hdr, nil
		}
		return http.StatusUnauthorized, hdr, nil
	case errors.As(err, &uriErr):
		if uriErr.NotFound {
			return http.StatusNotFound, hdr, nil
		}
		return http.StatusBadRequest, hdr, nil
	case errors.As(err, &selErr):
		return http.StatusBadRequest, hdr, nil
	}
	return http.StatusInternalServerError, hdr, nil
}

// conflictBody is the application/xcap-error+xml document of RFC 4825 §11.
func conflictBody(c *Conflict) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<xcap-error xmlns="` + nsXCAPError + `">` + "\n")
	tag := c.Tag
	if tag == "" {
		tag = "constraint-failure"
	}
	b.WriteString("  <" + tag)
	if c.Phrase != "" {
		b.WriteString(` phrase="` + escapeAttValue(c.Phrase) + `"`)
	}
	switch {
	case tag == "no-parent" && c.Ancestor != "":
		b.WriteString("><ancestor>" + escapeText(c.Ancestor) + "</ancestor></" + tag + ">\n")
	case tag == "uniqueness-failure" && len(c.Exists) > 0:
		b.WriteString(">\n")
		for _, e := range c.Exists {
			b.WriteString(`    <exists field="` + escapeAttValue(e.Field) + `"`)
			if len(e.AltValues) == 0 {
				b.WriteString("/>\n")
				continue
			}
			b.WriteString(">")
			for _, v := range e.AltValues {
				b.WriteString("<alt-value>" + escapeText(v) + "</alt-value>")
			}
			b.WriteString("</exists>\n")
		}
		b.WriteString("  </" + tag + ">\n")
	default:
		b.WriteString("/>\n")
	}
	b.WriteString("</xcap-error>\n")
	return []byte(b.String())
}

func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// xmlConflict turns a parse failure of a request body into its RFC 4825 §11 condition.
func xmlConflict(err error, fragment bool) error {
	var xe *xmlError
	if errors.As(err, &xe) && xe.notUTF8 {
		return &Conflict{Tag: "not-utf-8", Phrase: xe.reason}
	}
	if errors.As(err, &xe) && xe.limit {
		return &Conflict{Tag: "constraint-failure", Phrase: xe.reason}
	}
	if fragment {
		return &Conflict{Tag: "not-xml-frag", Phrase: err.Error()}
	}
	return &Conflict{Tag: "not-well-formed", Phrase: err.Error()}
}
