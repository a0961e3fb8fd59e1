package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/porticohq/portico/internal/app"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/porticohq/portico/internal/config"
)

// Exit codes (DESIGN.md, "Surfaces that scripts rely on").
const (
	exitOK     = 0
	exitFailed = 1 // a failed check or a runtime failure
	exitUsage  = 2 // bad usage or configuration
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// failed marks err as a failed check (exit 1).
func failed(err error) error { return &exitError{code: exitFailed, err: err} }

// usageErr marks err as bad usage (exit 2).
func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// cli holds what every command shares: output streams and the loaded
// configuration.
type cli struct {
	stdout, stderr io.Writer
	configFile     string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr}
	root := c.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "portico:", err)
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case config.IsConfigError(err), isCobraUsage(err):
		return exitUsage
	default:
		return exitFailed
	}
}

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "required flag", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func (c *cli) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "portico",
		Short:         "A customer self-service portal over the CRM and ERP you already run",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&c.configFile, "config", "", "config file (default "+config.DefaultFile+" if present)")
	configFlag(root.PersistentFlags(), "database-url", "database_url", "PostgreSQL URL")
	configFlag(root.PersistentFlags(), "log-level", "log.level", "debug, info, warn or error")
	configFlag(root.PersistentFlags(), "log-format", "log.format", "json or text")

	root.AddCommand(
		c.serveCmd(),
		c.workerCmd(),
		c.runCmd(),
		c.devCmd(),
		c.migrateCmd(),
		c.configCmd(),
		c.mappingsCmd(),
		c.benchCmd(),
		c.auditCmd(),
		c.syncCmd(),
		c.connectorsCmd(),
		c.usersCmd(),
		c.brandCmd(),
		c.documentsCmd(),
		c.privacyCmd(),
		c.versionCmd(),
		c.healthCmd(),
	)
	// Each subsystem's command group lives in its own file (mappings.go,
	// connectors.go, sync.go, users.go, brand.go, audit.go, privacy.go) and is added above.
	return root
}

// configFlag defines a string flag bound to a config key.
func configFlag(fs *pflag.FlagSet, name, key, usage string) {
	fs.String(name, "", usage+" (config key "+key+")")
	_ = fs.SetAnnotation(name, config.FlagKey, []string{key})
}

// loadConfig reads the configuration for cmd.
func (c *cli) loadConfig(cmd *cobra.Command) (*config.Config, error) {
	flags := pflag.NewFlagSet("all", pflag.ContinueOnError)
	flags.AddFlagSet(cmd.Flags())
	flags.AddFlagSet(cmd.InheritedFlags())
	return config.Load(config.Options{File: c.configFile, Flags: flags, ConnectionTypes: connectorRegistry().Types()})
}

// logger builds the process logger from config.
func (c *cli) logger(cfg *config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(c.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(c.stderr, opts))
}

// openPool loads the configuration and opens a pool on its database; no
// database configured is a usage error naming the key.
func (c *cli) openPool(cmd *cobra.Command) (*config.Config, *pgxpool.Pool, error) {
	cfg, err := c.loadConfig(cmd)
	if err != nil {
		return nil, nil, err
	}
	if cfg.DatabaseURL == "" {
		return nil, nil, app.ErrNoDatabase
	}
	pool, err := app.OpenPool(cmd.Context(), cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	return cfg, pool, nil
}

// withPool is a RunE that runs f on a pool of the configured database and
// closes the pool after.
func (c *cli) withPool(f func(cmd *cobra.Command, cfg *config.Config, pool *pgxpool.Pool) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		cfg, pool, err := c.openPool(cmd)
		if err != nil {
			return err
		}
		defer pool.Close()
		return f(cmd, cfg, pool)
	}
}

// withApp is a RunE that runs f on the configured app (neither serving
// nor working) and closes it after.
func (c *cli) withApp(f func(cmd *cobra.Command, a *app.App) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		a, err := c.openApp(cmd)
		if err != nil {
			return err
		}
		defer a.Close()
		return f(cmd, a)
	}
}
