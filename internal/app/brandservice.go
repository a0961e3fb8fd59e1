package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/jsonbody"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
)

// BrandService changes the stored brand for staff (the operator console
// and /admin/brand), with the checks of `portico brand set`, audited, and
// serves the change at once: this process reads the brand again before
// answering, and every other serving process hears of it from the
// setting's trigger (BrandChannel, brandReloader).
type BrandService struct {
	pool   *pgxpool.Pool
	tenant int64
	cfg    config.BrandConfig
	cur    *brand.Current
	load   func(context.Context) (*brand.Site, error)
}

// NewBrandService is the brand service of tenantID over config's brand;
// cur is the brand this process serves, set again after each change.
// fetch fetches config's logo URL (nil: none).
func NewBrandService(pool *pgxpool.Pool, tenantID int64, cfg config.BrandConfig, cur *brand.Current, fetch brand.Doer, log *slog.Logger) *BrandService {
	return &BrandService{pool: pool, tenant: tenantID, cfg: cfg, cur: cur, load: func(ctx context.Context) (*brand.Site, error) {
		return BrandSite(ctx, pool, tenantID, cfg, fetch, log)
	}}
}

// Settings reads config's brand and the stored one.
func (s *BrandService) Settings(ctx context.Context) (brand.Settings, error) {
	sb, _, err := LoadStoredBrand(ctx, s.pool, s.tenant)
	if err != nil {
		return brand.Settings{}, err
	}
	return brand.Settings{Config: s.cfg.Brand(), ConfigLogo: s.cfg.Logo != "" || s.cfg.LogoURL != "", Stored: sb}, nil
}

// Replace checks and stores ch, audited as ev (its Actor and request),
// and serves the result. Bad values are a *brand.Invalid and change
// nothing.
func (s *BrandService) Replace(ctx context.Context, ch brand.Change, ev audit.Event) (brand.Settings, error) {
	if err := ch.Check(); err != nil {
		return brand.Settings{}, err
	}
	text := func(v string) pgtype.Text { return pgtype.Text{String: v, Valid: v != ""} }
	p := store.BrandSettingReplaceParams{TenantID: s.tenant, Name: text(ch.Name), PrimaryColor: text(ch.PrimaryColor),
		AccentColor: text(ch.AccentColor), SupportEmail: text(ch.SupportEmail), SupportPhone: text(ch.SupportPhone),
		SupportUrl: text(ch.SupportURL), SetLogo: ch.Logo != nil, DropLogo: ch.DropLogo}
	if ch.Logo != nil {
		p.Logo, p.LogoType = ch.Logo.Body, text(ch.Logo.Type)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		before, _, err := LoadStoredBrand(ctx, tx, s.tenant)
		if err != nil {
			return err
		}
		if err := store.BrandSettingReplace(ctx, tx, p); err != nil {
			return fmt.Errorf("app: brand: %w", err)
		}
		after, _, err := LoadStoredBrand(ctx, tx, s.tenant)
		if err != nil {
			return err
		}
		ev.TenantID, ev.Action, ev.Object, ev.ObjectID = s.tenant, "brand.set", "brand", "brand"
		ev.Before, ev.After = brandAudit(before), brandAudit(after)
		return audit.Record(ctx, tx, ev)
	})
	if err != nil {
		return brand.Settings{}, err
	}
	return s.serve(ctx)
}

// Reset drops the stored brand, so that config's applies again, audited
// as ev, and serves the result.
func (s *BrandService) Reset(ctx context.Context, ev audit.Event) (brand.Settings, error) {
	if _, err := ResetBrandAudited(ctx, s.pool, s.tenant, ev); err != nil {
		return brand.Settings{}, err
	}
	return s.serve(ctx)
}

// serve reads the brand again into what this process serves, and returns
// the settings it came from.
func (s *BrandService) serve(ctx context.Context) (brand.Settings, error) {
	site, err := s.load(ctx)
	if err != nil {
		return brand.Settings{}, err
	}
	if s.cur != nil {
		s.cur.Set(site)
	}
	return s.Settings(ctx)
}

// brandAudit is what the audit log keeps of a stored brand: its fields,
// and of the logo its type, size and hash, never its bytes.
func brandAudit(sb brand.Stored) map[string]any {
	out := map[string]any{}
	for _, f := range brand.Fields {
		if v := sb.Get(f); v != "" {
			out[f] = v
		}
	}
	if sb.Logo != nil {
		out["logo"] = map[string]any{"type": sb.Logo.Type, "bytes": len(sb.Logo.Body), "sha256_16": sb.Logo.Hash}
	}
	return out
}

// BrandFields is a brand as /admin/brand shows it; an empty field is not
// set.
type BrandFields struct {
	Name         string     `json:"name,omitempty"`
	PrimaryColor string     `json:"primary_color,omitempty"`
	AccentColor  string     `json:"accent_color,omitempty"`
	SupportEmail string     `json:"support_email,omitempty"`
	SupportPhone string     `json:"support_phone,omitempty"`
	SupportURL   string     `json:"support_url,omitempty"`
	Logo         *BrandLogo `json:"logo,omitempty"`
}

// BrandLogo describes a logo, never its bytes.
type BrandLogo struct {
	Type  string `json:"type"`
	Bytes int    `json:"bytes"`
	// Path is where the portal serves it (the brand served), URL where a
	// stored logo was fetched from.
	Path string `json:"path,omitempty"`
	URL  string `json:"url,omitempty"`
}

// BrandView is GET /admin/brand: the brand served now, what is stored
// over config's, and config's.
type BrandView struct {
	Served BrandFields `json:"served"`
	Stored BrandFields `json:"stored"`
	Config BrandFields `json:"config"`
}

// BrandRequest is PUT /admin/brand: the stored brand from now on, as the
// console's form sends it. An empty or absent field follows config's
// brand; logo (base64) replaces the stored logo, drop_logo drops it.
type BrandRequest struct {
	Name         string `json:"name"`
	PrimaryColor string `json:"primary_color"`
	AccentColor  string `json:"accent_color"`
	SupportEmail string `json:"support_email"`
	SupportPhone string `json:"support_phone"`
	SupportURL   string `json:"support_url"`
	Logo         []byte `json:"logo"`
	DropLogo     bool   `json:"drop_logo"`
}

// maxBrandBody bounds PUT /admin/brand: a logo in base64 and the fields.
const maxBrandBody = 512 << 10

func fieldsOf(b brand.Brand) BrandFields {
	return BrandFields{Name: b.Name, PrimaryColor: b.PrimaryColor, AccentColor: b.AccentColor,
		SupportEmail: b.SupportEmail, SupportPhone: b.SupportPhone, SupportURL: b.SupportURL}
}

// view is set as /admin/brand shows it.
func (s *BrandService) view(set brand.Settings) BrandView {
	v := BrandView{Stored: fieldsOf(set.Stored.Brand), Config: fieldsOf(set.Config)}
	if l := set.Stored.Logo; l != nil {
		v.Stored.Logo = &BrandLogo{Type: l.Type, Bytes: len(l.Body), URL: set.Stored.LogoURL}
	}
	if s.cur != nil {
		site := s.cur.Get()
		v.Served = fieldsOf(site.Brand)
		if site.Logo != nil {
			v.Served.Logo = &BrandLogo{Type: site.Logo.Type, Bytes: len(site.Logo.Body), Path: site.LogoPath()}
		}
	}
	return v
}

// AdminRoutes is /admin/brand for staff scripts: read it (GET), store it
// (PUT, as the console's form does) and drop what is stored (DELETE, as
// `portico brand reset`). by is who acts, for the audit log.
func (s *BrandService) AdminRoutes(by func(*http.Request) audit.Actor, log *slog.Logger) chi.Router {
	r := chi.NewRouter()
	rp := reply.New(log)
	answer := func(w http.ResponseWriter, req *http.Request, set brand.Settings, err error) {
		var bad *brand.Invalid
		switch {
		case errors.As(err, &bad):
			fields := make([]reply.Field, len(bad.Fields))
			for i, f := range bad.Fields {
				fields[i] = reply.Field{Path: f.Field, Message: f.Msg}
			}
			rp.Invalid(w, req, fields...)
		case err != nil:
			rp.Internal(w, req, err)
		default:
			rp.JSON(w, req, http.StatusOK, s.view(set))
		}
	}
	r.Get("/", func(w http.ResponseWriter, req *http.Request) {
		set, err := s.Settings(req.Context())
		answer(w, req, set, err)
	})
	r.Put("/", func(w http.ResponseWriter, req *http.Request) {
		var in BrandRequest
		if e := jsonbody.Read(w, req, maxBrandBody, &in); e != nil {
			rp.Fail(w, req, e)
			return
		}
		ch := brand.Change{Brand: brand.Brand{Name: in.Name, PrimaryColor: in.PrimaryColor, AccentColor: in.AccentColor,
			SupportEmail: in.SupportEmail, SupportPhone: in.SupportPhone, SupportURL: in.SupportURL}, DropLogo: in.DropLogo}
		if in.Logo != nil {
			logo, err := brand.CheckLogo(in.Logo)
			if err != nil {
				rp.Invalid(w, req, reply.Field{Path: "logo", Message: err.Error()})
				return
			}
			ch.Logo = logo
		}
		set, err := s.Replace(req.Context(), ch, audit.Event{Actor: by(req)}.WithRequest(req))
		answer(w, req, set, err)
	})
	r.Delete("/", func(w http.ResponseWriter, req *http.Request) {
		set, err := s.Reset(req.Context(), audit.Event{Actor: by(req)}.WithRequest(req))
		answer(w, req, set, err)
	})
	return r
}
