package jobs

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestRiverInfoIsDebug(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l := riverLogger(base).With("client_id", "w-1")
	l.Info("maintenance.SQLiteNotificationCleaner: Ran successfully")
	l.Warn("river warning")
	base.Info("ours")
	out := buf.String()
	if strings.Contains(out, "Ran successfully") {
		t.Errorf("River's info reached an info-level log:\n%s", out)
	}
	if !strings.Contains(out, "river warning") || !strings.Contains(out, "client_id=w-1") || !strings.Contains(out, "ours") {
		t.Errorf("warnings and our own info must stay:\n%s", out)
	}

	buf.Reset()
	debug := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	riverLogger(debug).Info("River client started")
	if !strings.Contains(buf.String(), "level=DEBUG") || !strings.Contains(buf.String(), "River client started") {
		t.Errorf("at debug level River's info shows, as debug:\n%s", buf.String())
	}
}
