package jobs

import (
	"context"
	"log/slog"
)

// riverLogger is the logger River gets: its Info records ("River client
// started", "maintenance.SQLiteNotificationCleaner: Ran successfully",
// "No migrations to apply") are River's housekeeping, not the operator's
// business, so they are logged at Debug; its warnings and errors keep
// their level. `serve --log-level debug` shows them all.
func riverLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return nil
	}
	return slog.New(demoteInfo{l.Handler()})
}

type demoteInfo struct{ slog.Handler }

func (h demoteInfo) level(l slog.Level) slog.Level {
	if l == slog.LevelInfo {
		return slog.LevelDebug
	}
	return l
}

func (h demoteInfo) Enabled(ctx context.Context, l slog.Level) bool {
	return h.Handler.Enabled(ctx, h.level(l))
}

func (h demoteInfo) Handle(ctx context.Context, r slog.Record) error {
	r.Level = h.level(r.Level)
	return h.Handler.Handle(ctx, r)
}

func (h demoteInfo) WithAttrs(as []slog.Attr) slog.Handler {
	return demoteInfo{h.Handler.WithAttrs(as)}
}

func (h demoteInfo) WithGroup(name string) slog.Handler {
	return demoteInfo{h.Handler.WithGroup(name)}
}
