package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/store"
)

// BrandChannel is where migration 087 announces a changed brand setting.
const BrandChannel = "portico_brand"

// StoredBrand is what `portico brand set` stored for a tenant: the fields
// set (others empty), and the logo with where it came from.
type StoredBrand = brand.Stored

// LoadStoredBrand reads the tenant's stored brand; ok is false when
// nothing is stored.
func LoadStoredBrand(ctx context.Context, db store.DBTX, tenantID int64) (sb StoredBrand, ok bool, err error) {
	st, err := store.BrandSettingGet(ctx, db, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		return sb, false, nil
	}
	if err != nil {
		return sb, false, fmt.Errorf("app: brand: %w", err)
	}
	sb.Brand = brand.Brand{Name: st.Name.String, PrimaryColor: st.PrimaryColor.String, AccentColor: st.AccentColor.String,
		SupportEmail: st.SupportEmail.String, SupportPhone: st.SupportPhone.String, SupportURL: st.SupportUrl.String}
	sb.LogoURL = st.LogoUrl.String
	if st.Logo != nil {
		if sb.Logo, err = brand.CheckLogo(st.Logo); err != nil {
			return sb, false, fmt.Errorf("app: the stored logo: %w", err)
		}
	}
	return sb, true, nil
}

// SaveBrandAudited is SaveBrand in a transaction with its audit event
// (brand.set, what was stored before and after), as `portico brand set`
// changes it: ev names who acts.
func SaveBrandAudited(ctx context.Context, pool *pgxpool.Pool, tenantID int64, b brand.Brand, logo *brand.Logo, logoURL string, ev audit.Event) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		before, _, err := LoadStoredBrand(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if err := SaveBrand(ctx, tx, tenantID, b, logo, logoURL); err != nil {
			return err
		}
		after, _, err := LoadStoredBrand(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		ev.TenantID, ev.Action, ev.Object, ev.ObjectID = tenantID, "brand.set", "brand", "brand"
		ev.Before, ev.After = brandAudit(before), brandAudit(after)
		return audit.Record(ctx, tx, ev)
	})
}

// ResetBrandAudited drops the stored brand with its audit event
// (brand.reset, what was stored); had is false, and nothing is recorded,
// when nothing was.
func ResetBrandAudited(ctx context.Context, pool *pgxpool.Pool, tenantID int64, ev audit.Event) (had bool, err error) {
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		before, ok, err := LoadStoredBrand(ctx, tx, tenantID)
		if err != nil || !ok {
			return err
		}
		if had, err = ResetBrand(ctx, tx, tenantID); err != nil || !had {
			return err
		}
		ev.TenantID, ev.Action, ev.Object, ev.ObjectID = tenantID, "brand.reset", "brand", "brand"
		ev.Before = brandAudit(before)
		return audit.Record(ctx, tx, ev)
	})
	return had, err
}

// SaveBrand stores the fields of b that are set, over what is stored, and
// logo when not nil (logoURL where it was fetched from, "" for an upload).
// The caller has checked every value (brand.Brand.Check, brand.CheckLogo).
func SaveBrand(ctx context.Context, db store.DBTX, tenantID int64, b brand.Brand, logo *brand.Logo, logoURL string) error {
	text := func(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }
	p := store.BrandSettingSetParams{TenantID: tenantID, Name: text(b.Name), PrimaryColor: text(b.PrimaryColor),
		AccentColor: text(b.AccentColor), SupportEmail: text(b.SupportEmail), SupportPhone: text(b.SupportPhone),
		SupportUrl: text(b.SupportURL), SetLogo: logo != nil}
	if logo != nil {
		p.Logo, p.LogoType, p.LogoUrl = logo.Body, text(logo.Type), text(logoURL)
	}
	if err := store.BrandSettingSet(ctx, db, p); err != nil {
		return fmt.Errorf("app: brand: %w", err)
	}
	return nil
}

// ResetBrand drops what is stored, so that config's brand applies again;
// false when nothing was stored.
func ResetBrand(ctx context.Context, db store.DBTX, tenantID int64) (bool, error) {
	n, err := store.BrandSettingReset(ctx, db, tenantID)
	if err != nil {
		return false, fmt.Errorf("app: brand: %w", err)
	}
	return n > 0, nil
}

// BrandFetcher is the HTTP client a logo URL is fetched with: the
// connections' client with its defaults (timeouts, retries, breaker),
// capped at a logo's size.
func BrandFetcher() (*httpclient.Client, error) {
	cc := config.DefaultConnection(config.ConnectionConfig{Name: "brand-logo", MaxResponseBytes: brand.MaxLogoBytes + 1})
	return httpclient.New(httpclient.Options{Connection: cc})
}

// BrandSite is the brand the portal serves: config's brand with the
// stored fields over it, and the logo stored, else config's file, else
// config's URL, fetched once and kept in the database from then on. A
// logo URL that cannot be fetched now is logged and left out: the portal
// serves without it, and the next start tries again.
func BrandSite(ctx context.Context, db store.DBTX, tenantID int64, cfg config.BrandConfig, fetch brand.Doer, log *slog.Logger) (*brand.Site, error) {
	sb, _, err := LoadStoredBrand(ctx, db, tenantID)
	if err != nil {
		return nil, err
	}
	b := brand.Merge(cfg.Brand(), sb.Brand)
	if errs := b.Check(); len(errs) > 0 {
		return nil, fmt.Errorf("app: brand: %w", errs[0])
	}
	logo := sb.Logo
	switch {
	case logo != nil:
	case cfg.Logo != "":
		if logo, err = cfg.ReadLogo(); err != nil {
			return nil, fmt.Errorf("app: brand.logo: %w", err)
		}
	case cfg.LogoURL != "":
		if logo, err = cachedLogo(ctx, db, cfg.LogoURL, fetch); err != nil {
			log.WarnContext(ctx, "the brand's logo could not be fetched; serving without it",
				slog.String("url", cfg.LogoURL), slog.String("error", err.Error()))
			logo = nil
		}
	}
	return brand.NewSite(b, logo), nil
}

// cachedLogo is the logo at url from the cache, else fetched and cached.
func cachedLogo(ctx context.Context, db store.DBTX, url string, fetch brand.Doer) (*brand.Logo, error) {
	c, err := store.BrandLogoCacheGet(ctx, db, url)
	if err == nil {
		return brand.CheckLogo(c.Body)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if fetch == nil {
		return nil, errors.New("no HTTP client to fetch it with")
	}
	logo, err := brand.FetchLogo(ctx, fetch, url)
	if err != nil {
		return nil, err
	}
	err = store.BrandLogoCachePut(ctx, db, store.BrandLogoCachePutParams{Url: url, Body: logo.Body, ContentType: logo.Type})
	return logo, err
}

// brandReloader reads the brand again when a setting changes (and when
// the listener reconnects, as news may have been missed), one read at a
// time, off the listener's goroutine.
type brandReloader struct {
	kick chan struct{}
	load func(context.Context) (*brand.Site, error)
	cur  *brand.Current
	log  *slog.Logger
}

func newBrandReloader(load func(context.Context) (*brand.Site, error), cur *brand.Current, log *slog.Logger) *brandReloader {
	return &brandReloader{kick: make(chan struct{}, 1), load: load, cur: cur, log: log}
}

// run reads the brand again on each kick until ctx ends.
func (r *brandReloader) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		s, err := r.load(ctx)
		if err != nil {
			// The last good brand stays.
			r.log.ErrorContext(ctx, "reading the brand again", slog.String("error", err.Error()))
			continue
		}
		r.cur.Set(s)
	}
}

// SetLive implements pgnotify.Subscriber.
func (r *brandReloader) SetLive(live bool) {
	if live {
		r.Notify("")
	}
}

// Notify implements pgnotify.Subscriber.
func (r *brandReloader) Notify(string) {
	select {
	case r.kick <- struct{}{}:
	default: // a read is due already
	}
}
