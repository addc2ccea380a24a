// Package isctest starts the SIP side of imsps in-process for tests (Start, Run) and
// provides a small SIP user agent (UA) that sends requests and answers NOTIFYs.
package isctest
