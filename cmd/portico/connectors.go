package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/credentials"
	"github.com/porticohq/portico/internal/sources"
	"github.com/porticohq/portico/internal/store"
)

// connectorsCmd groups the connection diagnostics.
func (c *cli) connectorsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "connectors", Short: "Inspect the configured source connections"}
	cmd.AddCommand(c.connectorsCheckCmd(), c.connectorsListCmd(), c.connectorsConnectCmd())
	return cmd
}

func (c *cli) connectorsListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the configured connections and the connector types this build knows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			for _, conn := range cfg.Connections {
				fmt.Fprintf(c.stdout, "%-20s %-11s %s\n", conn.Name, conn.Type, conn.BaseURL)
			}
			fmt.Fprintf(c.stdout, "types: %s\n", strings.Join(connectorRegistry().Types(), ", "))
			return nil
		},
	}
}

func (c *cli) connectorsCheckCmd() *cobra.Command {
	var name string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Authenticate, read a page of every object, check the setup, and show quota and breaker state",
		Long: "check authenticates against each configured connection's source (or only --connection's),\n" +
			"pulls one page of each object with the fields the mappings read, checks the source's setup\n" +
			"against its own schema where the connector can (Salesforce: mapped fields the org lacks, the\n" +
			"external-id field of idempotent creates and the fallback in force without it), and prints\n" +
			"what it saw, the call budget left and the circuit breaker state. It exits 1 with the source's\n" +
			"own error message when any connection fails, and 2 for an unknown connection.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			conns := cfg.Connections
			if name != "" {
				conn, ok := cfg.Connection(name)
				if !ok {
					known := make([]string, 0, len(cfg.Connections))
					for _, k := range cfg.Connections {
						known = append(known, k.Name)
					}
					return usageErr("connectors check: unknown connection %q (configured: %s)", name, strings.Join(known, ", "))
				}
				conns = []config.ConnectionConfig{conn}
			}
			if len(conns) == 0 {
				return usageErr("connectors check: no connections are configured")
			}
			set, err := loadMappings(cfg)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			creds, closeStore, err := checkCredentials(ctx, cfg)
			if err != nil {
				return failed(err)
			}
			defer closeStore()
			srcs, err := sources.Open(ctx, sources.Options{Connections: conns, Fields: app.SourcePaths(set, conns),
				Registry: connectorRegistry(), Credentials: creds, Logger: c.logger(cfg)})
			if err != nil {
				return usageErr("connectors check: %v", err)
			}
			var errs []error
			for i, conn := range conns {
				if i > 0 {
					fmt.Fprintln(c.stdout)
				}
				src, _ := srcs.Get(conn.Name)
				if err := c.check(ctx, c.stdout, src); err != nil {
					errs = append(errs, err)
				}
			}
			if len(errs) > 0 {
				return failed(errors.Join(errs...))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "connection", "", "check only this connection (default: every configured one)")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	return cmd
}

// checkCredentials opens the encrypted credential store when a database
// and key are configured, so the check uses rotated tokens; otherwise the
// connection's configured tokens are used as they are.
func checkCredentials(ctx context.Context, cfg *config.Config) (connectors.CredentialStore, func(), error) {
	if cfg.DatabaseURL == "" || cfg.Secrets.EncryptionKey == "" {
		return nil, func() {}, nil
	}
	key, err := credentials.ParseKey(cfg.Secrets.EncryptionKey)
	if err != nil {
		return nil, nil, &config.Error{Key: "secrets.encryption_key", Msg: err.Error()}
	}
	pool, err := app.OpenPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	tenant, err := store.TenantBySlug(ctx, pool, "default")
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("connectors check: %w", err)
	}
	st, err := credentials.NewStore(pool, tenant.ID, key)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return st, pool.Close, nil
}

// check reads one page of every object and reports. The first failure
// ends it with the source's message.
func (c *cli) check(ctx context.Context, w io.Writer, src *sources.Source) error {
	fmt.Fprintf(w, "connection %s (%s) at %s\n", src.Config.Name, src.Config.Type, src.Config.BaseURL)
	objs, err := src.Connector.Objects(ctx)
	if err != nil {
		return failed(fmt.Errorf("connectors check: %s: objects: %w", src.Config.Name, err))
	}
	var firstErr error
	for _, o := range objs {
		page, err := src.Connector.Pull(ctx, connectors.PullRequest{Object: o.Name, Limit: 5})
		if err != nil {
			fmt.Fprintf(w, "  %-18s FAIL  %v\n", o.Name, err)
			if firstErr == nil {
				firstErr = fmt.Errorf("connectors check: %s %s: %w", src.Config.Name, o.Name, err)
			}
			if errors.Is(err, connectors.ErrAuthExpired) {
				break // every other object would fail the same way
			}
			continue
		}
		more := ""
		if page.Next != "" {
			more = "+"
		}
		sample := ""
		if len(page.Records) > 0 {
			r := page.Records[0]
			sample = fmt.Sprintf("  e.g. %s (version %s)", r.ID, r.Version)
		}
		fmt.Fprintf(w, "  %-18s ok    %d%s records on the first page%s\n", o.Name, len(page.Records), more, sample)
	}
	if sc, ok := src.Connector.(connectors.SetupChecker); ok && firstErr == nil {
		notes, err := sc.CheckSetup(ctx)
		for _, n := range notes {
			fmt.Fprintf(w, "  %-18s %-5s %s\n", n.Object, n.Level, n.Msg)
			if n.Level == connectors.SetupFail && firstErr == nil {
				firstErr = fmt.Errorf("connectors check: %s %s: %s", src.Config.Name, n.Object, n.Msg)
			}
		}
		if err != nil {
			fmt.Fprintf(w, "  %-18s FAIL  %v\n", "setup", err)
			if firstErr == nil {
				firstErr = fmt.Errorf("connectors check: %s: setup: %w", src.Config.Name, err)
			}
		}
	}
	q := src.Client.Quota()
	fmt.Fprintf(w, "quota remaining: minute=%s day=%s\n", budget(q.Minute), budget(q.Day))
	fmt.Fprintf(w, "breaker: %s\n", src.Client.Breaker())
	if firstErr != nil {
		return failed(firstErr)
	}
	fmt.Fprintln(w, "ok")
	return nil
}

func budget(n int) string {
	if n < 0 {
		return "unlimited"
	}
	return fmt.Sprint(n)
}

// openSource opens one configured connection as the sync would (its
// credentials from the encrypted store when a database and key are
// configured, the mapped fields selected); done releases it.
func (c *cli) openSource(ctx context.Context, cmd *cobra.Command, name string) (*sources.Source, func(), error) {
	cfg, err := c.loadConfig(cmd)
	if err != nil {
		return nil, nil, err
	}
	conn, ok := cfg.Connection(name)
	if !ok {
		known := make([]string, 0, len(cfg.Connections))
		for _, k := range cfg.Connections {
			known = append(known, k.Name)
		}
		return nil, nil, usageErr("unknown connection %q (configured: %s)", name, strings.Join(known, ", "))
	}
	set, err := loadMappings(cfg)
	if err != nil {
		return nil, nil, err
	}
	creds, closeStore, err := checkCredentials(ctx, cfg)
	if err != nil {
		return nil, nil, failed(err)
	}
	conns := []config.ConnectionConfig{conn}
	srcs, err := sources.Open(ctx, sources.Options{Connections: conns, Fields: app.SourcePaths(set, conns),
		Registry: connectorRegistry(), Credentials: creds, Logger: c.logger(cfg)})
	if err != nil {
		closeStore()
		return nil, nil, usageErr("%v", err)
	}
	src, _ := srcs.Get(name)
	return src, closeStore, nil
}
