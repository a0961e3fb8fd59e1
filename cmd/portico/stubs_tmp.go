package main

import "github.com/spf13/cobra"

func (c *cli) serveCmd() *cobra.Command   { return &cobra.Command{Use: "serve"} }
func (c *cli) workerCmd() *cobra.Command  { return &cobra.Command{Use: "worker"} }
func (c *cli) runCmd() *cobra.Command     { return &cobra.Command{Use: "run"} }
func (c *cli) devCmd() *cobra.Command     { return &cobra.Command{Use: "dev"} }
func (c *cli) migrateCmd() *cobra.Command { return &cobra.Command{Use: "migrate"} }

func (c *cli) benchRiverCmd() *cobra.Command { return &cobra.Command{Use: "river"} }
