// Package isc is the SIP side of imsps on the ISC interface (TS 24.229): it receives
// PUBLISH (RFC 3903) and SUBSCRIBE (RFC 6665, RFC 3856) over sipgo, hands them to the
// presence core, and sends the core's NOTIFYs within the subscription dialogs.
//
// Wiring (cmd/imsps):
//
//	n, err := isc.NewNotifier(sipCfg, log)                  // the SIP stack; NOTIFY sender
//	agent, err := as.NewAgent(presenceCfg, st, dir, n, log) // n is the agent's as.Notifier
//	srv, err := isc.New(sipCfg, agent, n, log)
//	udp, tcp, err := isc.Listen(ctx, sipCfg)                // bind errors name sip.udp / sip.tcp
//	go agent.Run(ctx)
//	err = srv.Serve(ctx, udp, tcp)                          // graceful stop when ctx ends
//
// Only header.go looks headers up by name (it knows the compact forms); only status.go
// maps errors to status codes; trust.go decides whose P-Asserted-Identity counts.
package isc
