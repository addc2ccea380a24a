// Package conformance replays presence signalling flows — the seed documents' example flows
// and RFC 3903/3856/4825 cases — against any presence server over its sockets, and writes a
// report with a ladder diagram per flow. It knows imsps only as a black box.
package conformance
