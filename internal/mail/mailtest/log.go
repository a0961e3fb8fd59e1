package mailtest

import (
	"log/slog"

	"github.com/porticohq/portico/internal/logtest"
)

// Log captures what a process logs at info and above, for tests that
// check no live link reaches the log. String is everything logged so far.
type Log struct {
	logtest.Buffer
}

// Logger writes text lines at info and above to l.
func (l *Log) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
