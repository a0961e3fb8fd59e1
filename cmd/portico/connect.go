package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/connect"
	"github.com/porticohq/portico/internal/sources"
	"github.com/porticohq/portico/internal/store"
)

// connectorsConnectCmd connects a source by the vendor's consent flow and
// stores its tokens encrypted, where the connectors find them.
func (c *cli) connectorsConnectCmd() *cobra.Command {
	var noBrowser bool
	var token string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "connect NAME",
		Short: "Connect a source by the vendor's OAuth consent (or a token) and store its tokens encrypted",
		Long: "connect runs the vendor's OAuth 2.0 authorization code flow for the connection NAME:\n" +
			"Salesforce's web server flow with PKCE, QuickBooks' with the company's realm id, or Square's.\n" +
			"It opens the consent page in a browser (or prints its URL with --no-browser, or when no browser\n" +
			"can be started), listens on the connection's redirect_url (register it with the vendor's app),\n" +
			"trades the answer's code for tokens and stores them encrypted in PostgreSQL (database_url and\n" +
			"secrets.encryption_key must be set), then checks the connection with them.\n\n" +
			"Without consent: a Salesforce connection whose settings give jwt_key_file and jwt_user uses the\n" +
			"JWT bearer flow (server to server); a Square connection takes a personal access token with --token.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			conn, ok := cfg.Connection(args[0])
			if !ok {
				return usageErr("connectors connect: unknown connection %q", args[0])
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			store, closeStore, err := checkCredentials(ctx, cfg)
			if err != nil {
				return failed(err)
			}
			defer closeStore()
			if store == nil {
				return usageErr("connectors connect: the tokens are stored encrypted in PostgreSQL: set database_url and secrets.encryption_key")
			}
			// As the connectors read it: tied to the connection's endpoint and client.
			store = sources.Fingerprinted(store, []config.ConnectionConfig{conn})
			jwt := conn.Type == "salesforce" && conn.Settings["jwt_key_file"] != ""
			switch {
			case token != "":
				if conn.Type != "inventory" {
					return usageErr("connectors connect: --token is for Square (inventory) personal access tokens; %s connections use the consent flow", conn.Type)
				}
				if err := store.Save(ctx, conn.Name, connectors.Credentials{AccessToken: token}); err != nil {
					return failed(err)
				}
				fmt.Fprintf(c.stdout, "stored the access token of %s\n", conn.Name)
				if err := auditConnected(ctx, cfg, conn.Name, "token", connectors.Credentials{}); err != nil {
					return failed(err)
				}
			case jwt:
				fmt.Fprintf(c.stdout, "connecting %s by the JWT bearer flow as %s\n", conn.Name, conn.Settings["jwt_user"])
			default:
				cr, err := c.consent(ctx, conn, store, noBrowser)
				if err != nil {
					return err
				}
				if err := auditConnected(ctx, cfg, conn.Name, "consent", cr); err != nil {
					return failed(err)
				}
			}
			// Prove it: the check authenticates with what is stored (the JWT
			// flow stores its token here).
			src, done, err := c.openSource(ctx, cmd, conn.Name)
			if err != nil {
				return err
			}
			defer done()
			if err := c.check(ctx, c.stdout, src); err != nil {
				return err
			}
			if jwt {
				return auditConnected(ctx, cfg, conn.Name, "jwt", connectors.Credentials{})
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "print the consent URL instead of opening a browser (for a headless machine)")
	cmd.Flags().StringVar(&token, "token", "", "a Square personal access token to store instead of running the consent flow")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for the consent")
	return cmd
}

// auditConnected records the connection's new tokens in the audit log,
// as made from the command line (connect.RecordConnected).
func auditConnected(ctx context.Context, cfg *config.Config, connection, how string, cr connectors.Credentials) error {
	pool, err := app.OpenPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	tenant, err := store.TenantBySlug(ctx, pool, "default")
	if err != nil {
		return fmt.Errorf("connectors connect: %w", err)
	}
	return connect.RecordConnected(ctx, pool, audit.Event{TenantID: tenant.ID, Actor: cliActor}, connection, how, cr)
}

// consent runs the authorization code flow and answers what it stored.
func (c *cli) consent(ctx context.Context, conn config.ConnectionConfig, store connectors.CredentialStore, noBrowser bool) (connectors.Credentials, error) {
	f := connect.For(conn, conn.RedirectURL, store)
	f.Show = func(u string) error {
		if noBrowser || openBrowser(u) != nil {
			fmt.Fprintf(c.stdout, "Open this address in a browser and allow access:\n\n  %s\n\n", u)
		} else {
			fmt.Fprintf(c.stdout, "Opened the consent page in your browser. If it did not open, go to:\n\n  %s\n\n", u)
		}
		fmt.Fprintf(c.stdout, "Waiting for the answer on %s ...\n", conn.RedirectURL)
		return nil
	}
	res, err := f.Run(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return connectors.Credentials{}, failed(fmt.Errorf("connectors connect: %w", err))
		}
		return connectors.Credentials{}, failed(err)
	}
	what := "tokens"
	if res.Credentials.Realm != "" {
		what += " of company " + res.Credentials.Realm
	}
	fmt.Fprintf(c.stdout, "connected: stored the %s of %s, encrypted\n", what, conn.Name)
	return res.Credentials, nil
}

// openBrowser asks the desktop to open u; an error means there is none.
func openBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return errors.New("no display")
		}
		cmd = exec.Command("xdg-open", u)
	}
	return cmd.Start()
}
