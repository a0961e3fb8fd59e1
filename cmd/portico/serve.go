package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/porticohq/portico/internal/app"
)

func (c *cli) serveCmd() *cobra.Command {
	return c.processCmd("serve", "Run the HTTP API", app.Mode{Serve: true})
}

func (c *cli) workerCmd() *cobra.Command {
	return c.processCmd("worker", "Run the River workers", app.Mode{Work: true})
}

func (c *cli) runCmd() *cobra.Command {
	return c.processCmd("run", "Run the HTTP API and the workers in one process", app.Mode{Serve: true, Work: true})
}

func (c *cli) processCmd(use, short string, mode app.Mode) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			logger := c.logger(cfg)
			deps, err := appDeps(cfg)
			if err != nil {
				return err
			}
			a, err := app.Open(cmd.Context(), cfg, logger, mode, deps)
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Run(cmd.Context(), func(addr string) {
				fmt.Fprintf(c.stderr, "portico %s: listening on http://%s\n", use, addr)
			})
		},
	}
	if mode.Serve {
		configFlag(cmd.Flags(), "http-addr", "http.addr", "address to listen on")
	}
	return cmd
}
