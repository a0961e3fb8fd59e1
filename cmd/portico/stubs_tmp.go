package main

import "github.com/spf13/cobra"

func (c *cli) benchRiverCmd() *cobra.Command { return &cobra.Command{Use: "river"} }
