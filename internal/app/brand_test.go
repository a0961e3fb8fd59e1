package app_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
)

// TestBrandSiteFromConfigAndStore: config's brand, with the stored fields
// over it; a logo URL fetched once and served from the cache after.
func TestBrandSiteFromConfigAndStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>`))
	}))
	defer srv.Close()
	fetch, err := app.BrandFetcher()
	require.NoError(t, err)
	cfg := config.Default().Brand
	cfg.Name, cfg.SupportPhone, cfg.LogoURL = "Config Name", "+1 555 0100", srv.URL+"/logo.svg"
	log := slog.New(slog.DiscardHandler)

	site, err := app.BrandSite(ctx, pool, 1, cfg, fetch, log)
	require.NoError(t, err)
	require.Equal(t, "Config Name", site.Name)
	require.Equal(t, "image/svg+xml", site.Logo.Type)
	again, err := app.BrandSite(ctx, pool, 1, cfg, fetch, log)
	require.NoError(t, err)
	require.Equal(t, site.LogoPath(), again.LogoPath())
	require.Equal(t, int32(1), hits.Load(), "fetched once, then served from the cache")

	require.NoError(t, app.SaveBrand(ctx, pool, 1, brand.Brand{Name: "Stored Name", AccentColor: "#8a4b08"}, nil, ""))
	site, err = app.BrandSite(ctx, pool, 1, cfg, fetch, log)
	require.NoError(t, err)
	require.Equal(t, brand.Brand{Name: "Stored Name", PrimaryColor: "#1d4ed8", AccentColor: "#8a4b08", SupportPhone: "+1 555 0100"}, site.Brand)
	require.NotNil(t, site.Logo, "config's logo while none is stored")

	// A logo URL that cannot be fetched leaves the portal without a logo,
	// not without a portal.
	cfg.LogoURL = srv.URL + "/other.svg"
	srv.Close()
	site, err = app.BrandSite(ctx, pool, 1, cfg, fetch, log)
	require.NoError(t, err)
	require.Nil(t, site.Logo)
}
