package main

import (
	"github.com/spf13/cobra"

	"github.com/porticohq/portico/internal/devenv"
)

func (c *cli) devCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run Portico on its embedded default: a private PostgreSQL, the API and the workers",
		Long: `dev starts a private PostgreSQL cluster from the locally installed server
binaries (data in .portico/pg) unless a database URL is configured, migrates
it, and runs the API and the workers. It writes .portico/dev.json for scripts
and .portico/dev.yaml for other portico commands. Ctrl-C stops everything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			deps, err := appDeps(cfg)
			if err != nil {
				return err
			}
			return devenv.Run(cmd.Context(), cfg, deps, c.logger(cfg), c.stdout, nil)
		},
	}
	configFlag(cmd.Flags(), "http-addr", "http.addr", "address to listen on")
	configFlag(cmd.Flags(), "dir", "dev.dir", "directory for the private cluster and dev.json")
	return cmd
}
