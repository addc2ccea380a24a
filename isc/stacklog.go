package isc

import (
	"context"
	"log/slog"
)

// stackLogMax bounds a string logged by the SIP stack.
const stackLogMax = 200

// stackLog is the handler the SIP stack logs through. The stack logs every message it cannot
// parse at error level with the whole message attached, so each hostile datagram or stream
// (up to 64 KiB) would cost a log line of that size at error level: a remote peer could fill
// the disk at line rate. Strings are cut to stackLogMax bytes, and parse failures, which are
// the peer's fault and not the server's, go to debug level.
type stackLog struct{ slog.Handler }

func newStackLog(log *slog.Logger) *slog.Logger {
	return slog.New(stackLog{log.Handler()}).With("layer", "sipgo")
}

func (h stackLog) Enabled(ctx context.Context, l slog.Level) bool {
	// Parse failures are demoted in Handle, so an error may end up at debug level.
	return h.Handler.Enabled(ctx, l) || l >= slog.LevelError && h.Handler.Enabled(ctx, slog.LevelDebug)
}

func (h stackLog) Handle(ctx context.Context, r slog.Record) error {
	level := r.Level
	if r.Message == "failed to parse" {
		level = slog.LevelDebug
	}
	if !h.Handler.Enabled(ctx, level) {
		return nil
	}
	out := slog.NewRecord(r.Time, level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(cutAttr(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h stackLog) WithAttrs(as []slog.Attr) slog.Handler {
	cut := make([]slog.Attr, len(as))
	for i, a := range as {
		cut[i] = cutAttr(a)
	}
	return stackLog{h.Handler.WithAttrs(cut)}
}

func (h stackLog) WithGroup(name string) slog.Handler { return stackLog{h.Handler.WithGroup(name)} }

func cutAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); len(s) > stackLogMax {
			return slog.String(a.Key, s[:stackLogMax]+"…")
		}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			if s := err.Error(); len(s) > stackLogMax {
				return slog.String(a.Key, s[:stackLogMax]+"…")
			}
		}
	}
	return a
}
