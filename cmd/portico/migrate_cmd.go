package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/migrate"
)

func (c *cli) migrateCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "migrate", Short: "Apply or inspect database migrations"}
	cmd.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "Apply River's and Portico's pending migrations (a no-op when current)",
		Args:  cobra.NoArgs,
		RunE: c.withPool(func(cmd *cobra.Command, cfg *config.Config, pool *pgxpool.Pool) error {
			applied, err := migrate.Up(cmd.Context(), pool, c.logger(cfg))
			for _, s := range applied {
				fmt.Fprintf(c.stdout, "applied %s %03d_%s\n", s.Line, s.Version, s.Name)
			}
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintln(c.stdout, "database is up to date")
			}
			return nil
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied; exits 1 when any is pending",
		Args:  cobra.NoArgs,
		RunE: c.withPool(func(cmd *cobra.Command, _ *config.Config, pool *pgxpool.Pool) error {
			all, err := migrate.List(cmd.Context(), pool)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "LINE\tVERSION\tNAME\tSTATE")
			pending := 0
			for _, s := range all {
				state := "applied"
				if s.AppliedAt == nil {
					state = "pending"
					pending++
				} else if !s.AppliedAt.IsZero() {
					state = "applied " + s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
				}
				fmt.Fprintf(tw, "%s\t%03d\t%s\t%s\n", s.Line, s.Version, s.Name, state)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if pending > 0 {
				return failed(fmt.Errorf("%d migrations pending: run `portico migrate up`", pending))
			}
			return nil
		}),
	})
	return cmd
}
