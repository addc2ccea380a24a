// Package xmltree reads a document the schema already accepted into a small, read-only,
// namespace-resolved element tree, fast enough for every XCAP write, so that application
// usages can check their RFC constraints and name the offending node with an XCAP node selector.
package xmltree
