package app

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/brand"
)

// TestBrandReloadedOnNotice: a changed setting (portico_brand) replaces
// the served brand; a read that fails keeps the last good one.
func TestBrandReloadedOnNotice(t *testing.T) {
	t.Parallel()
	var name atomic.Value
	name.Store("First")
	var fail atomic.Bool
	load := func(context.Context) (*brand.Site, error) {
		if fail.Load() {
			return nil, errors.New("database away")
		}
		b := brand.Default()
		b.Name = name.Load().(string)
		return brand.NewSite(b, nil), nil
	}
	first, err := load(context.Background())
	require.NoError(t, err)
	cur := brand.NewCurrent(first)
	r := newBrandReloader(load, cur, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	name.Store("Second")
	r.Notify("1")
	require.Eventually(t, func() bool { return cur.Get().Name == "Second" }, 5*time.Second, 5*time.Millisecond)
	fail.Store(true)
	r.SetLive(true)
	r.Notify("1")
	require.Never(t, func() bool { return cur.Get().Name != "Second" }, 200*time.Millisecond, 10*time.Millisecond)
}
