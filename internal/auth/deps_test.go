package auth_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
)

// TestNewRefusesAnIncompleteConfig: auth fills no defaults of its own
// (package config fills them, once), so a zero timeout or throttle is an
// error naming the key, not a silent fallback.
func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	_, err := auth.New(auth.Deps{Pool: pool, HashParams: fastHash})
	require.Error(t, err)
	for _, key := range []string{"auth.session_idle_timeout", "auth.throttle", "auth.unknown_oidc_email"} {
		require.ErrorContains(t, err, key)
	}
	cfg := config.Default().Auth
	cfg.Throttle.Window = 0
	_, err = auth.New(auth.Deps{Pool: pool, HashParams: fastHash, Config: cfg})
	require.ErrorContains(t, err, "auth.throttle")
	_, err = auth.New(auth.Deps{Pool: pool, HashParams: fastHash, Config: config.Default().Auth})
	require.NoError(t, err, "the loaded defaults are complete")
}
