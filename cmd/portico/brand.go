package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/brand"
)

// brandFlag is the flag of a brand field: --primary-color for
// primary_color.
func brandFlag(field string) string { return "--" + strings.ReplaceAll(field, "_", "-") }

func (c *cli) brandCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "brand", Short: "The portal's branding: show it, set it (over config's brand.*), reset it"}
	cmd.PersistentFlags().String("tenant", "default", "tenant slug")
	tenantOf := func(cmd *cobra.Command) string {
		s, _ := cmd.Flags().GetString("tenant")
		return s
	}

	vals := map[string]*string{}
	var logoFile, logoURL string
	set := &cobra.Command{
		Use:   "set",
		Short: "Store brand fields and a logo in the database; they override config's brand.* field by field",
		Long: "Store brand fields and a logo in the database; they override config's brand.* field by field.\n" +
			"Every value is checked before anything is stored: colours must reach WCAG AA contrast (4.5:1)\n" +
			"where the portal puts them, a logo must be a PNG, SVG, WebP or JPEG image of at most 256 KiB.\n" +
			"Serving processes pick the change up at once.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var b brand.Brand
			some := false
			for _, f := range brand.Fields {
				if cmd.Flags().Changed(brandFlag(f)[2:]) {
					if *vals[f] == "" {
						return usageErr("%s: must not be empty (brand reset drops what is stored)", brandFlag(f))
					}
					b.Set(f, *vals[f])
					some = true
				}
			}
			if !some && logoFile == "" && logoURL == "" {
				return usageErr("nothing to set: give at least one of --name, --primary-color, --accent-color, --support-email, --support-phone, --support-url, --logo, --logo-url")
			}
			if errs := b.Check(); len(errs) > 0 {
				msgs := make([]string, len(errs))
				for i, e := range errs {
					msgs[i] = brandFlag(e.Field) + ": " + e.Msg
				}
				return usageErr("%s", strings.Join(msgs, "; "))
			}
			logo, err := c.brandLogo(cmd.Context(), logoFile, logoURL)
			if err != nil {
				return err
			}
			return c.withUsersDB(cmd, tenantOf(cmd), func(ctx context.Context, pool *pgxpool.Pool, tenantID int64) error {
				if err := app.SaveBrandAudited(ctx, pool, tenantID, b, logo, logoURL, audit.Event{Actor: cliActor}); err != nil {
					return err
				}
				fmt.Fprintln(c.stdout, "brand stored")
				return nil
			})
		},
	}
	fs := set.Flags()
	for _, f := range brand.Fields {
		vals[f] = new(string)
	}
	fs.StringVar(vals["name"], "name", "", "the portal's name (header, title, error pages)")
	fs.StringVar(vals["primary_color"], "primary-color", "", "#rrggbb: links, buttons, the header")
	fs.StringVar(vals["accent_color"], "accent-color", "", "#rrggbb: a change on its way")
	fs.StringVar(vals["support_email"], "support-email", "", "support email address")
	fs.StringVar(vals["support_phone"], "support-phone", "", "support phone number")
	fs.StringVar(vals["support_url"], "support-url", "", "support web page (http or https)")
	fs.StringVar(&logoFile, "logo", "", "logo image file to upload (PNG, SVG, WebP or JPEG, at most 256 KiB)")
	fs.StringVar(&logoURL, "logo-url", "", "logo image URL, fetched once now and served from the database")

	show := &cobra.Command{
		Use:   "show",
		Short: "Show the brand the portal serves, and where each field comes from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			return c.withUsersDB(cmd, tenantOf(cmd), func(ctx context.Context, pool *pgxpool.Pool, tenantID int64) error {
				stored, _, err := app.LoadStoredBrand(ctx, pool, tenantID)
				if err != nil {
					return err
				}
				conf := cfg.Brand.Brand()
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "FIELD\tVALUE\tFROM")
				for _, f := range brand.Fields {
					v, from := conf.Get(f), "config"
					switch {
					case stored.Get(f) != "":
						v, from = stored.Get(f), "stored"
					case v == "":
						v, from = "-", "unset"
					case v == brand.Default().Get(f):
						from = "default"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", f, v, from)
				}
				logo, from := "-", "unset"
				switch {
				case stored.Logo != nil && stored.LogoURL != "":
					logo, from = fmt.Sprintf("%s, %d bytes, fetched from %s", stored.Logo.Type, len(stored.Logo.Body), stored.LogoURL), "stored"
				case stored.Logo != nil:
					logo, from = fmt.Sprintf("%s, %d bytes, uploaded", stored.Logo.Type, len(stored.Logo.Body)), "stored"
				case cfg.Brand.Logo != "":
					logo, from = cfg.Brand.Logo, "config"
				case cfg.Brand.LogoURL != "":
					logo, from = cfg.Brand.LogoURL, "config"
				}
				fmt.Fprintf(tw, "logo\t%s\t%s\n", logo, from)
				return tw.Flush()
			})
		},
	}

	reset := &cobra.Command{
		Use:   "reset",
		Short: "Drop the stored brand, so that config's brand.* applies again",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withUsersDB(cmd, tenantOf(cmd), func(ctx context.Context, pool *pgxpool.Pool, tenantID int64) error {
				had, err := app.ResetBrandAudited(ctx, pool, tenantID, audit.Event{Actor: cliActor})
				if err != nil {
					return err
				}
				if had {
					fmt.Fprintln(c.stdout, "stored brand dropped; config's brand applies")
				} else {
					fmt.Fprintln(c.stdout, "no brand was stored; config's brand applies")
				}
				return nil
			})
		},
	}
	cmd.AddCommand(set, show, reset)
	return cmd
}

// brandLogo reads and checks the logo of --logo, or fetches and checks
// that of --logo-url; nil for neither. A file or an answer that is not a
// logo is bad usage (exit 2); a URL that cannot be reached a failure.
func (c *cli) brandLogo(ctx context.Context, file, url string) (*brand.Logo, error) {
	switch {
	case file != "" && url != "":
		return nil, usageErr("--logo-url: give --logo or --logo-url, not both")
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return nil, usageErr("--logo: %v", err)
		}
		defer f.Close()
		body, err := io.ReadAll(io.LimitReader(f, brand.MaxLogoBytes+1))
		if err != nil {
			return nil, usageErr("--logo: %v", err)
		}
		logo, err := brand.CheckLogo(body)
		if err != nil {
			return nil, usageErr("--logo: %v", err)
		}
		return logo, nil
	case url != "":
		if err := brand.CheckLogoURL(url); err != nil {
			return nil, usageErr("--logo-url: %v", err)
		}
		client, err := app.BrandFetcher()
		if err != nil {
			return nil, err
		}
		logo, err := brand.FetchLogo(ctx, client, url)
		switch {
		case err == nil:
			return logo, nil
		case errors.Is(err, brand.ErrNotALogo):
			return nil, usageErr("--logo-url: %v", err)
		default: // not reached, or not answered with the image
			return nil, failed(fmt.Errorf("--logo-url: %w", err))
		}
	}
	return nil, nil
}
