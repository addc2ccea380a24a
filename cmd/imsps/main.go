// Command imsps is the IMS presence server: SIP presence on ISC, XCAP on Ut, Sh to the HSS,
// and GBA, in one binary. `imsps serve` runs the whole stack on loopback from built-in defaults.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/emiago/sipgo/sip"
	"github.com/gin-gonic/gin"
)

const usage = `imsps: IMS presence server

Usage:
  imsps serve      [--config FILE] [--data DIR] [--log-format text|json] [--log-level LEVEL]
  imsps hss        [--config FILE] ...   the HSS simulator alone (Sh, Zh)
  imsps bsf        [--config FILE] ...   the GBA bootstrapping server alone (Ub, Zn)
  imsps authproxy  [--config FILE] ...   the Ut authentication proxy alone
  imsps conformance --sip HOST:PORT --xcap URL [--report FILE]
  imsps config                           print the built-in configuration

With no --config the built-in defaults apply: the lab profile of configs/imsps.yaml.
`

func main() {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, args := args[0], args[1:]
	if cmd == "config" {
		stdout.Write(defaultConfigYAML())
		return 0
	}
	if cmd == "conformance" {
		return runConformance(args, stdout, stderr)
	}
	roles, ok := map[string]role{"serve": roleServe, "hss": roleHSS, "bsf": roleBSF, "authproxy": roleAuthProxy}[cmd]
	if !ok {
		fmt.Fprintf(stderr, "imsps: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	fs := flag.NewFlagSet("imsps "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (YAML); built-in defaults when empty")
	dataDir := fs.String("data", "", "data directory (overrides the config's data key)")
	logFormat := fs.String("log-format", "", "log format: text or json (overrides log.format)")
	logLevel := fs.String("log-level", "", "log level: debug, info, warn, error (overrides log.level)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "imsps: %v\n", err)
		return 1
	}
	if *dataDir != "" {
		cfg.Data = *dataDir
	}
	if *logFormat != "" {
		cfg.Log.Format = *logFormat
	}
	if *logLevel != "" {
		cfg.Log.Level = *logLevel
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "imsps: %v\n", err)
		return 1
	}
	cfg.Runtime.apply()
	// sipgo logs some transport events through its package logger, not the one injected.
	sip.SetDefaultLogger(log.With("component", "sipgo"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, roles, log); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("imsps stopped", "err", err)
		return 1
	}
	return 0
}

// LogConfig is the log section of the configuration.
type LogConfig struct {
	Format string `yaml:"format"` // text or json
	Level  string `yaml:"level"`  // debug, info, warn, error
}

func newLogger(c LogConfig, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(c.Format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log.format: %q is not text or json", c.Format)
}
