package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/privacy"
)

// cliActor is who acts from the command line, in the audit log.
var cliActor = audit.StaffActor("cli")

func (c *cli) privacyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "privacy", Short: "GDPR: a person's data export and erasure, and the record of processing"}
	var email, out, reason string
	export := &cobra.Command{
		Use:   "export",
		Short: "Write a person's data (user, contact, cases, comments, actions, consents, sessions, audit events, files) as a zip (Art. 15, 20)",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(cmd *cobra.Command, a *app.App) error {
			if strings.TrimSpace(email) == "" {
				return usageErr("--email is required")
			}
			if out == "" {
				return usageErr("--out is required: the zip file to write")
			}
			zip, err := a.Privacy().BuildFor(cmd.Context(), email, cliActor)
			if errors.Is(err, privacy.ErrNoSubject) {
				return usageErr("--email: %v", err)
			}
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, zip, 0o600); err != nil {
				return usageErr("--out: %v", err)
			}
			fmt.Fprintf(c.stdout, "ok: %s (%d bytes)\n", out, len(zip))
			return nil
		}),
	}
	export.Flags().StringVar(&email, "email", "", "the person's email (required)")
	export.Flags().StringVar(&out, "out", "", "the zip file to write, readable by its owner only (required)")

	erase := &cobra.Command{
		Use:   "erase",
		Short: "Erase a person (Art. 17): remove or pseudonymise them across Portico, crypto-shred their audit fields, and ask the sources or leave staff a task",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(cmd *cobra.Command, a *app.App) error {
			rep, err := a.Privacy().Erase(cmd.Context(), email, reason, cliActor)
			var bad *privacy.ErrInvalid
			switch {
			case errors.As(err, &bad):
				return usageErr("--%s: %s", bad.Field, bad.Message)
			case errors.Is(err, privacy.ErrNoSubject):
				return usageErr("--email: %v", err)
			case err != nil:
				return err
			}
			fmt.Fprintf(c.stdout, "erased: erasure %d, the person is now %s\n", rep.ErasureID, rep.Pseudonym)
			names := make([]string, 0, len(rep.Parts))
			for k := range rep.Parts {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				fmt.Fprintf(c.stdout, "  %-16s %d\n", k, rep.Parts[k])
			}
			for _, s := range rep.Sources {
				what := "erasure requested from the source"
				if s.State == privacy.SourceStaffTask {
					what = "STAFF TASK: erase it at the source"
				}
				fmt.Fprintf(c.stdout, "source %s %s %s: %s (%s)\n", s.Connection, s.SourceObject, s.SourceID, what, s.Detail)
			}
			for _, n := range rep.Notes {
				fmt.Fprintln(c.stdout, "note:", n)
			}
			return nil
		}),
	}
	erase.Flags().StringVar(&email, "email", "", "the person's email (required)")
	erase.Flags().StringVar(&reason, "reason", "", "why: the request and its date (required; kept with the erasure and audited, so do not name the person)")

	report := &cobra.Command{
		Use:   "report",
		Short: "The record of processing: what Portico keeps about people, why, on what basis and for how long",
		Args:  cobra.NoArgs,
		// The app's registry: every part a subsystem registered is listed.
		RunE: c.withApp(func(cmd *cobra.Command, a *app.App) error {
			cfg := a.Config()
			for _, act := range privacy.Processing(a.Privacy().Registry(), cfg.Privacy.Retention) {
				fmt.Fprintf(c.stdout, "%s\n  holds:     %s\n  purpose:   %s\n  basis:     %s\n  kept:      %s\n  export: %s  erase: %s\n\n",
					act.Part, act.Holds, act.Purpose, act.Basis, act.Retention, yesNo(act.Export), yesNo(act.Erase))
			}
			fmt.Fprintf(c.stdout, "data exports wait %s for their one download (privacy.export_ttl); the purge runs every %s (privacy.purge_interval)\n",
				cfg.Privacy.ExportTTL, cfg.Privacy.PurgeInterval)
			return nil
		}),
	}
	cmd.AddCommand(export, erase, report)
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
