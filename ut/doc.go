// Package ut is the XCAP server of the Ut reference point (RFC 4825, TS 24.141 §6.3): URIs,
// node selectors, byte-exact document edits, ETags, MIME objects and Ut authentication.
// Entry points: New, (*Server).Handler, AssertedHandler, Serve, Close; usages register as AppUsage.
//
// # Wiring
//
//	st, _ := store.Open("data/imsps.db", store.DefaultOptions())
//	srv, err := ut.New(cfg.XCAP, st, []ut.AppUsage{resourceLists, pidf, presRules, caps, dir}, log)
//	l, _ := net.Listen("tcp", cfg.XCAP.Listen)
//	go srv.Serve(ctx, l)          // Digest / trusted proxy
//	naf.Wrap(srv.AssertedHandler()) // the in-process authentication proxy (never a listener)
//
// # Adding an application usage
//
// Implement AppUsage (AUID, MIME type, default namespace, Check) and optionally
// DocumentNamer, Generator and ChangeObserver, then pass it to New. Check receives the
// whole candidate document after the engine applied the PUT or DELETE; returning a
// *Conflict answers 409 with that RFC 4825 §11 condition. The DocumentReader handed to
// Check and Generate also implements InfoReader (documents with their ETags).
package ut
