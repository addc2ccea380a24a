// Package rlsservices is the XCAP application usage "rls-services" (RFC 4826 §4.4): resource
// list service URIs with their lists, unique across all users, and the server-maintained
// global index of every user's services. Entry point: New.
package rlsservices
