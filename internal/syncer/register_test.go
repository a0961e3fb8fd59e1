package syncer_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/syncer"
)

func validConfig() syncer.Config {
	return syncer.Config{
		Interval: time.Minute, ReconcileInterval: time.Hour, TombstoneRetention: 24 * time.Hour,
		SlowInterval: 10 * time.Minute, MaxRun: time.Hour,
	}
}

func TestRegisterSchedulesEveryTarget(t *testing.T) {
	t.Parallel()
	b := setup(t, fakesource.Options{Seed: 1, Records: 10})
	reg := jobs.NewRegistry()
	require.NoError(t, syncer.Register(reg, b.syncer, validConfig()))
	require.Len(t, reg.Periodic, 2*len(b.syncer.Targets())+1, "an incremental run and a reconciliation per target, and the purge")

	// Interval 0: one poll per connection instead of a run per target.
	cfg := validConfig()
	cfg.Interval = 0
	reg = jobs.NewRegistry()
	require.NoError(t, syncer.Register(reg, b.syncer, cfg))
	require.Len(t, reg.Periodic, len(b.syncer.Targets())+1+1, "a reconciliation per target, the purge, and one poll of the one connection")
}

func TestRegisterNamesTheBadField(t *testing.T) {
	t.Parallel()
	b := setup(t, fakesource.Options{Seed: 1, Records: 10})
	for field, edit := range map[string]func(*syncer.Config){
		"Interval":           func(c *syncer.Config) { c.Interval = -time.Second },
		"ReconcileInterval":  func(c *syncer.Config) { c.ReconcileInterval = -time.Second },
		"TombstoneRetention": func(c *syncer.Config) { c.TombstoneRetention = 0 },
		"SlowInterval":       func(c *syncer.Config) { c.SlowInterval = -time.Second },
		"MaxRun":             func(c *syncer.Config) { c.MaxRun = 0 },
		`Intervals["Case"]`:  func(c *syncer.Config) { c.Intervals = map[string]time.Duration{"Case": 0} },
	} {
		cfg := validConfig()
		edit(&cfg)
		reg := jobs.NewRegistry()
		err := syncer.Register(reg, b.syncer, cfg)
		require.ErrorContains(t, err, field)
		require.Empty(t, reg.Periodic, "%s: a bad config schedules nothing", field)
	}
}
