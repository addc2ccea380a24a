// Package astest provides in-memory doubles of the presence core's dependencies for tests:
// an as.Store (with failure injection), an as.Directory that knows every identity of the
// served domains, and an as.Notifier that records NOTIFYs and answers as told.
package astest
