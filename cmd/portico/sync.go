package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/syncer"
)

func (c *cli) syncCmd() *cobra.Command {
	var connection, object string
	var full, reconcile bool
	cmd := &cobra.Command{
		Use:   "sync --connection NAME [--object OBJ] [--full | --reconcile]",
		Short: "Run a sync in the foreground with progress, or show sync status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if connection == "" {
				return usageErr("--connection is required (or use `portico sync status`)")
			}
			if full && reconcile {
				return usageErr("--full and --reconcile exclude each other")
			}
			a, err := c.openApp(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			var targets []syncer.Target
			for _, t := range a.Syncer().Targets() {
				if t.Connection == connection && (object == "" || strings.EqualFold(t.Object, object) || t.Portal == object) {
					targets = append(targets, t)
				}
			}
			if len(targets) == 0 {
				if _, ok := a.Sources().Get(connection); !ok {
					return usageErr("unknown connection %q (configured: %s)", connection, strings.Join(a.Sources().Names(), ", "))
				}
				return usageErr("connection %q has no mapped object %q", connection, object)
			}
			s := a.Syncer().WithProgress(func(p syncer.Progress) {
				fmt.Fprintf(c.stderr, "\r%-12s %-16s %-11s page %4d  %8d records  %5d deleted", p.Connection, p.Object, p.Kind, p.Pages, p.Records, p.Deleted)
			})
			failedRuns := 0
			for _, t := range targets {
				start := time.Now()
				var res syncer.Result
				switch {
				case full:
					res, err = s.Full(cmd.Context(), t.Connection, t.Object)
				case reconcile:
					res, err = s.Reconcile(cmd.Context(), t.Connection, t.Object)
				default:
					res, err = s.Incremental(cmd.Context(), t.Connection, t.Object)
				}
				fmt.Fprint(c.stderr, "\r\033[K")
				if err != nil {
					failedRuns++
					fmt.Fprintf(c.stdout, "%s %s: FAILED after %s: %v\n", t.Connection, t.Object, time.Since(start).Round(time.Millisecond), err)
					continue
				}
				line := fmt.Sprintf("%s %s: %s ok, %d records, %d deleted, %d pages in %s", t.Connection, t.Object, res.Kind, res.Records, res.Deleted, res.Pages, time.Since(start).Round(time.Millisecond))
				if res.Kind == syncer.KindReconcile {
					line += fmt.Sprintf(", %d differences", res.Differences)
				}
				fmt.Fprintln(c.stdout, line)
			}
			if failedRuns > 0 {
				return failed(fmt.Errorf("%d of %d syncs failed", failedRuns, len(targets)))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&connection, "connection", "", "connection name")
	cmd.Flags().StringVar(&object, "object", "", "vendor or portal object (default: every mapped object)")
	cmd.Flags().BoolVar(&full, "full", false, "full resync (resumes an interrupted one)")
	cmd.Flags().BoolVar(&reconcile, "reconcile", false, "compare ids and versions with the source and repair")
	cmd.AddCommand(c.syncStatusCmd())
	return cmd
}

func (c *cli) syncStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Per connection and object: last success, lag, counts, last error, breaker, quota",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(cmd *cobra.Command, a *app.App) error {
			st, err := a.Syncer().Status(cmd.Context(), a.Sources())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"connections": st})
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CONNECTION\tOBJECT\tPORTAL\tRECORDS\tDELETED\tNO OWNER\tOWNER KNOWN\tLAST SUCCESS\tLAG\tBREAKER\tQUOTA (MIN/DAY)\tLAST ERROR")
			var unresolved []string
			for _, conn := range st {
				for _, o := range conn.Objects {
					last, lag := "never", "-"
					if o.LastSuccessAt != nil {
						last = o.LastSuccessAt.UTC().Format("2006-01-02 15:04:05Z")
					}
					if o.LagSeconds != nil {
						lag = (time.Duration(*o.LagSeconds * float64(time.Second))).Round(time.Second).String()
					}
					errText := o.LastError
					if len(errText) > 60 {
						errText = errText[:57] + "..."
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s/%s\t%s\n", conn.Connection, o.Object, o.Portal,
						o.Records, o.Tombstoned, o.WithoutOwner, o.OwnerDerivable, last, lag, conn.Breaker, quota(conn.Quota.Minute), quota(conn.Quota.Day), errText)
					if o.OwnerDerivable > 0 {
						unresolved = append(unresolved, fmt.Sprintf("%s %s: %d", conn.Connection, o.Object, o.OwnerDerivable))
					}
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			// NO OWNER: records no customer sees. OWNER KNOWN: those of them
			// whose owner could be derived now, which a settled sync leaves at 0.
			if len(unresolved) > 0 {
				fmt.Fprintf(c.stdout, "\nrecords without an owner although their owner is known (customers miss them): %s\n", strings.Join(unresolved, ", "))
			}
			for _, conn := range st {
				for _, o := range conn.Objects {
					switch {
					case len(o.NewSourcePaths) > 0 && o.FullSyncInProgress:
						fmt.Fprintf(c.stdout, "\n%s %s: full re-pull for new source fields (%s) in progress; it resumes from its last stored page\n", conn.Connection, o.Object, strings.Join(o.NewSourcePaths, ", "))
					case len(o.NewSourcePaths) > 0:
						fmt.Fprintf(c.stdout, "\n%s %s: full re-pull for new source fields (%s) due: a worker starts it (or: portico sync --connection %s --object %s --full)\n", conn.Connection, o.Object, strings.Join(o.NewSourcePaths, ", "), conn.Connection, o.Object)
					case o.FullSyncInProgress:
						fmt.Fprintf(c.stdout, "\n%s %s: full sync in progress; it resumes from its last stored page\n", conn.Connection, o.Object)
					}
				}
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the same as GET /admin/sync)")
	return cmd
}

func quota(n int) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// openApp opens the app without running it, for one-shot commands.
func (c *cli) openApp(cmd *cobra.Command) (*app.App, error) {
	cfg, err := c.loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	deps, err := appDeps(cfg)
	if err != nil {
		return nil, err
	}
	return app.Open(cmd.Context(), cfg, c.logger(cfg), app.Mode{}, deps)
}
