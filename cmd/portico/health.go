package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// healthCmd asks a running process whether it is ready, for container
// health checks: the distroless image has no shell and no curl.
func (c *cli) healthCmd() *cobra.Command {
	var url string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Ask a running serve or run process whether it is ready (GET /readyz); exits 0 when it is, 1 when not",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return usageErr("health: --url: %v", err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return failed(fmt.Errorf("health: %w", err))
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			if resp.StatusCode != http.StatusOK {
				return failed(fmt.Errorf("health: %s answered %d: %s", url, resp.StatusCode, body))
			}
			_, err = fmt.Fprintf(c.stdout, "ready: %s\n", url)
			return err
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8080/readyz", "the process's readiness endpoint")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}
