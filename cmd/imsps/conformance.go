package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/emiago/sipgo/sip"
	"github.com/imsps/imsps/conformance"
)

// runConformance replays the conformance flows against a running presence server.
func runConformance(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("imsps conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var t conformance.Target
	fs.StringVar(&t.SIP, "sip", "127.0.0.1:5060", "SIP host:port of the server under test")
	fs.StringVar(&t.Transport, "transport", "udp", "SIP transport: udp or tcp")
	fs.StringVar(&t.Domain, "domain", "example.com", "the served domain")
	fs.StringVar(&t.XCAPRoot, "xcap", "", "XCAP root URL (empty: SIP flows only)")
	fs.StringVar(&t.XCAPUser, "user", "alice@example.com", "XCAP Digest user name")
	fs.StringVar(&t.XCAPPassword, "password", "alice", "XCAP Digest password")
	fs.StringVar(&t.XUI, "xui", "sip:alice@example.com", "the XCAP user's identity (XUI)")
	report := fs.String("report", "", "write an HTML report with ladder diagrams to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// sipgo warns through its package logger when the test agents close their sockets;
	// only errors matter to a conformance run.
	sip.SetDefaultLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	flows := conformance.SIPFlows()
	if t.XCAPRoot != "" {
		flows = append(flows, conformance.XCAPFlows()...)
	}
	rep := conformance.Run(ctx, t, flows)
	rep.WriteText(stdout)
	if *report != "" {
		f, err := os.Create(*report)
		if err != nil {
			fmt.Fprintf(stderr, "imsps: %v\n", err)
			return 1
		}
		err = rep.WriteHTML(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintf(stderr, "imsps: report: %v\n", err)
			return 1
		}
	}
	if _, failed := rep.Counts(); failed > 0 {
		return 1
	}
	return 0
}
