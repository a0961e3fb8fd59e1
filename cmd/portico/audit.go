package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porticohq/portico/internal/audit"
)

func (c *cli) auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Check the audit trail"}
	var tenant string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit hash chains; exits 1 naming any edited or deleted event",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, pool, err := c.openPool(cmd)
			if err != nil {
				return err
			}
			defer pool.Close()
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
			}
			fmt.Fprintf(c.stdout, "ok: %d events verified\n", rep.Events)
			return nil
		},
	}
	verify.Flags().StringVar(&tenant, "tenant", "", "verify only this tenant (slug); default every tenant")
	cmd.AddCommand(verify)
	return cmd
}
