package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// benchCmd groups the benchmarks. Each prints progress for people and, as
// its last line, one JSON object with its figures (DESIGN.md).
func (c *cli) benchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run a benchmark; the last line of output is one JSON object of figures",
	}
	cmd.AddCommand(
		c.benchRiverCmd(),
		c.benchSyncCmd(),
		c.benchConnectorsCmd(),
		c.benchMappingCmd(),
		c.benchAPICmd(),
		c.benchWritebackCmd(),
	)
	return cmd
}

// benchResult prints the closing JSON line of a benchmark.
func benchResult(w io.Writer, figures map[string]any) error {
	line, err := json.Marshal(figures)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(line))
	return err
}
