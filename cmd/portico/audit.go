package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/config"
)

func (c *cli) auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Check the audit trail"}
	var tenant string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the sealed audit hash chains and report the unsealed tail; exits 1 naming any edited or deleted event, or events unsealed for over a minute",
		Args:  cobra.NoArgs,
		RunE: c.withPool(func(cmd *cobra.Command, _ *config.Config, pool *pgxpool.Pool) error {
			rep, err := audit.Verify(cmd.Context(), pool, tenant)
			if errors.Is(err, audit.ErrUnknownTenant) {
				return usageErr("--tenant: %w", err)
			}
			if err != nil {
				return err
			}
			for _, p := range rep.Problems {
				fmt.Fprintln(c.stdout, "FAIL", p)
			}
			if len(rep.Problems) > 0 {
				return failed(fmt.Errorf("audit: %d problem(s) in %d events", len(rep.Problems), rep.Events))
			}
			for _, ch := range rep.Chains {
				if ch.Events > 0 {
					// The head hash is worth keeping outside the database: it
					// anchors everything before it.
					fmt.Fprintf(c.stdout, "tenant %s: %d events, head seq %d hash %x\n", ch.Tenant, ch.Events, ch.HeadSeq, ch.HeadHash)
				}
				if ch.Unsealed > 0 {
					fmt.Fprintf(c.stdout, "tenant %s: %d events await sealing, the oldest for %s\n", ch.Tenant, ch.Unsealed, ch.OldestUnsealed.Round(time.Millisecond))
				}
			}
			fmt.Fprintf(c.stdout, "ok: %d events verified\n", rep.Events)
			return nil
		}),
	}
	verify.Flags().StringVar(&tenant, "tenant", "", "verify only this tenant (slug); default every tenant")
	seal := &cobra.Command{
		Use:   "seal",
		Short: "Link every committed unsealed event into its chain now (running Portico processes do this within a second)",
		Args:  cobra.NoArgs,
		RunE: c.withPool(func(cmd *cobra.Command, _ *config.Config, pool *pgxpool.Pool) error {
			n, err := audit.Seal(cmd.Context(), pool)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "ok: %d events sealed\n", n)
			return nil
		}),
	}
	cmd.AddCommand(verify, seal)
	return cmd
}
