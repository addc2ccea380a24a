// Package xcapdirectory is the OMA XDM application usage "org.openmobilealliance.xcap-directory":
// a read-only per-user document, directory.xml, listing the user's documents with their URIs,
// ETags and sizes, built from the store on every GET. Entry point: New.
package xcapdirectory
