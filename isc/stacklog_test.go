package isc

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestStackLogBoundsHostileInput: what the SIP stack logs about a message it cannot parse
// (the whole message, at error level) is cut short and demoted to debug, so a flood of
// 64 KiB garbage datagrams cannot turn into 64 KiB error lines each.
func TestStackLogBoundsHostileInput(t *testing.T) {
	huge := strings.Repeat("A", 65000)
	tests := []struct {
		name      string
		level     slog.Level // of the server log
		msg       string
		wantLevel string // "" when nothing may be written
	}{
		{"parse failure at the default level: not written", slog.LevelInfo, "failed to parse", ""},
		{"parse failure with debug on: written, cut short", slog.LevelDebug, "failed to parse", "DEBUG"},
		{"other stack errors stay errors, cut short", slog.LevelInfo, "Read error", "ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := newStackLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tt.level})))
			log.With("peer", huge).Error(tt.msg, "data", huge, "error", errors.New(huge))
			out := buf.String()
			if tt.wantLevel == "" {
				if out != "" {
					t.Fatalf("written: %.200q", out)
				}
				return
			}
			if !strings.Contains(out, "level="+tt.wantLevel) {
				t.Errorf("level: %.200q", out)
			}
			if len(out) > 4*stackLogMax+200 {
				t.Errorf("%d bytes logged for one hostile message", len(out))
			}
		})
	}
}
