package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/porticohq/portico/internal/syncer"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/mapcheck"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/sources"
	"github.com/porticohq/portico/mappings"
)

// mappingsCmd is what integrators use to check, preview and describe the
// field mappings.
func (c *cli) mappingsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mappings",
		Short: "Check, preview and describe the field mappings",
	}
	var files []string
	cmd.PersistentFlags().StringSliceVar(&files, "file", nil, "mapping file or directory to use instead of the configured ones (repeatable)")
	cmd.AddCommand(
		c.mappingsCheckCmd(&files),
		c.mappingsPreviewCmd(&files),
		c.mappingsSchemaCmd(&files),
		c.mappingsApplyCmd(),
		c.mappingsScaffoldCmd(),
	)
	return cmd
}

// mappingPaths expands directories to the *.yaml files inside them.
func mappingPaths(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(filepath.Join(a, "*.yaml"))
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%s: no *.yaml mapping files", a)
		}
		out = append(out, m...)
	}
	return out, nil
}

// loadMappingSet compiles the given files, else the configured directory,
// else the shipped mappings. A file that cannot be read is bad usage; the
// caller decides what a mapping error means.
func (c *cli) loadMappingSet(cmd *cobra.Command, files []string) (*mapping.Set, string, error) {
	if len(files) > 0 {
		paths, err := mappingPaths(files)
		if err != nil {
			return nil, "", usageErr("mappings: %v", err)
		}
		set, err := mapping.LoadFiles(paths...)
		return set, strings.Join(paths, ", "), err
	}
	cfg, err := c.loadConfig(cmd)
	if err != nil {
		return nil, "", err
	}
	if cfg.Mappings.Dir != "" {
		set, err := mapping.Load(os.DirFS(cfg.Mappings.Dir))
		return set, cfg.Mappings.Dir, err
	}
	set, err := mapping.Load(mappings.FS())
	return set, "the shipped mappings", err
}

// mappingErr turns a mapping error into exit 1 after listing every
// problem on stdout, one file:line:col line each.
func (c *cli) mappingErr(err error) error {
	var errs mapping.Errors
	if !errors.As(err, &errs) {
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		return usageErr("%v", err)
	}
	for _, e := range errs {
		fmt.Fprintln(c.stdout, e.Error())
	}
	return failed(fmt.Errorf("mappings: %d problem(s)", len(errs)))
}

func (c *cli) mappingsCheckCmd(files *[]string) *cobra.Command {
	var connection string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "check [FILES|DIRS] [--connection NAME]",
		Short: "Compile mapping files; list every error with file:line:col (exit 1) or confirm they are clean",
		Long: "check compiles the mapping files and lists every error with its file:line:col.\n" +
			"With --connection it also checks the connection's mappings against the source's own schema\n" +
			"(Salesforce: the org's describe of each sObject; QuickBooks and Square: the connector's copy of\n" +
			"the vendor's published entity shapes, as they have no describe call): each mapped path exists,\n" +
			"its type fits the portal field and the transform reading it, a written field may be created or\n" +
			"updated, a picklist has every value the mapping's values name, and a create sets every field\n" +
			"the source requires. Each problem is listed at the mapping's file:line:col (exit 1).",
		RunE: func(cmd *cobra.Command, args []string) error {
			set, from, err := c.loadMappingSet(cmd, append(args, *files...))
			if err != nil {
				return c.mappingErr(err)
			}
			if connection != "" {
				return c.checkAgainstSource(cmd, set, connection, timeout)
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "OBJECT\tCONNECTION\tSOURCE\tFRESHNESS\tWRITES\tHASH")
			for _, o := range set.Objects() {
				var ops []string
				for _, op := range []mapping.Op{mapping.OpCreate, mapping.OpUpdate} {
					if o.Writable(op) {
						ops = append(ops, string(op))
					}
				}
				if ops == nil {
					ops = []string{"-"}
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", o.Name(), o.Connection(), o.SourceObject(), o.Freshness(), strings.Join(ops, ","), o.Hash())
			}
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "ok: %d object mappings in %s\n", len(set.Objects()), from)
			return nil
		},
	}
	cmd.Flags().StringVar(&connection, "connection", "", "also check this connection's mappings against the source's own schema")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up on the source after this long")
	return cmd
}

// checkAgainstSource checks the mappings fed by connection against the
// source's describe, listing each problem at its file:line:col.
func (c *cli) checkAgainstSource(cmd *cobra.Command, set *mapping.Set, connection string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	_, d, done, err := c.openDescriber(ctx, cmd, connection, "mappings check")
	if err != nil {
		return err
	}
	defer done()
	res, err := mapcheck.Check(ctx, set, connection, d)
	if err != nil {
		return failed(fmt.Errorf("mappings check: %s: %w", connection, err))
	}
	if res.Objects == 0 {
		return usageErr("mappings check: no mapping reads connection %q", connection)
	}
	for _, p := range res.Problems {
		fmt.Fprintln(c.stdout, p.Error())
	}
	for _, n := range res.Notes {
		fmt.Fprintln(c.stdout, "note: "+n)
	}
	if len(res.Problems) > 0 {
		return failed(fmt.Errorf("mappings check: %d problem(s) against %s's schema", len(res.Problems), connection))
	}
	fmt.Fprintf(c.stdout, "ok: %d object mappings match %s's schema\n", res.Objects, connection)
	return nil
}

// pickObject finds the mapping for --object (and --connection when
// several connections feed the object).
func pickObject(set *mapping.Set, object, connection string) (*mapping.Object, error) {
	if object == "" {
		return nil, usageErr("--object is required")
	}
	if connection != "" {
		if o, ok := set.For(connection, object); ok {
			return o, nil
		}
		return nil, usageErr("no mapping for %s from connection %q", object, connection)
	}
	var found []*mapping.Object
	for _, o := range set.Objects() {
		if o.Name() == object {
			found = append(found, o)
		}
	}
	switch len(found) {
	case 0:
		var names []string
		for _, o := range set.Objects() {
			if !slices.Contains(names, o.Name()) {
				names = append(names, o.Name())
			}
		}
		return nil, usageErr("no mapping for object %q (mapped: %s)", object, strings.Join(names, ", "))
	case 1:
		return found[0], nil
	}
	var conns []string
	for _, o := range found {
		conns = append(conns, o.Connection())
	}
	return nil, usageErr("%s is mapped from several connections (%s): pass --connection", object, strings.Join(conns, ", "))
}

func (c *cli) mappingsPreviewCmd(files *[]string) *cobra.Command {
	var object, fromFile, connection, id string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "preview --object OBJECT (--from-file RECORD.json | --connection NAME --id ID)",
		Short: "Show a source record and its portal record side by side, and the fields each role sees",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (fromFile == "") == (id == "") {
				return usageErr("give either --from-file or --connection with --id")
			}
			if id != "" && connection == "" {
				return usageErr("--id needs --connection")
			}
			set, _, err := c.loadMappingSet(cmd, *files)
			if err != nil {
				return c.mappingErr(err)
			}
			o, err := pickObject(set, object, connection)
			if err != nil {
				return err
			}
			var raw []byte
			if fromFile != "" {
				if raw, err = readRecordFile(fromFile); err != nil {
					return usageErr("%v", err)
				}
			} else if raw, err = c.fetchRecord(cmd, connection, o.SourceObject(), id); err != nil {
				return err
			}
			m, err := o.ToPortal(raw)
			if err != nil {
				return failed(err)
			}
			if asJSON {
				return previewJSON(c.stdout, o, raw, m)
			}
			return previewText(c.stdout, o, raw, m)
		},
	}
	cmd.Flags().StringVar(&object, "object", "", "portal object, e.g. case")
	cmd.Flags().StringVar(&fromFile, "from-file", "", "a source record as JSON (the vendor payload, or a connector record with a raw member)")
	cmd.Flags().StringVar(&connection, "connection", "", "connection to fetch the record from (and whose mapping to use)")
	cmd.Flags().StringVar(&id, "id", "", "source id of the record to fetch")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document instead of the table")
	return cmd
}

// readRecordFile reads a vendor payload; a connectors.Record (as the sync
// logs and stores it) is unwrapped to its raw payload.
func readRecordFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rec connectors.Record
	if json.Unmarshal(b, &rec) == nil && rec.Object != "" && len(rec.Raw) > 0 {
		return rec.Raw, nil
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s: not JSON", path)
	}
	return b, nil
}

// fetchRecord gets one record through the configured connection, with the
// same client, credentials and breaker the sync uses.
func (c *cli) fetchRecord(cmd *cobra.Command, connection, object, id string) ([]byte, error) {
	cfg, err := c.loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	if _, ok := cfg.Connection(connection); !ok {
		return nil, usageErr("no connection named %q in the configuration", connection)
	}
	deps, err := appDeps(cfg)
	if err != nil {
		return nil, err
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	a, err := app.Open(ctx, cfg, c.logger(cfg), app.Mode{}, deps)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	src, ok := a.Sources().Get(connection)
	if !ok {
		return nil, usageErr("connection %q is not open", connection)
	}
	rec, err := src.Connector.Get(ctx, object, id)
	if err != nil {
		return nil, failed(fmt.Errorf("mappings: fetching %s %s from %s: %w", object, id, connection, err))
	}
	return rec.Raw, nil
}

func sourceValue(src map[string]any, path string) (any, bool) {
	var v any = src
	for _, seg := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return v, true
}

func compact(v any, width int) string {
	var s string
	if str, ok := v.(string); ok {
		s = str
	} else {
		b, _ := json.Marshal(v)
		s = string(b)
	}
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > width {
		s = string(r[:width-1]) + "…"
	}
	return s
}

func previewText(out io.Writer, o *mapping.Object, raw []byte, m *mapping.Mapped) error {
	var src map[string]any
	_ = json.Unmarshal(raw, &src)
	fmt.Fprintf(out, "%s %s from %s.%s (mapping %s, hash %s)\n", o.Name(), m.ID, o.Connection(), o.SourceObject(), o.File(), o.Hash())
	switch {
	case o.Public():
		fmt.Fprintln(out, "owner:   public: every portal user may read it")
	case m.OwnerRef != nil:
		fmt.Fprintf(out, "owner:   the account whose %s is %q", m.OwnerRef.Key, m.OwnerRef.Value)
	case m.OwnerAccount != "":
		fmt.Fprintf(out, "owner:   account %s", m.OwnerAccount)
	default:
		fmt.Fprint(out, "owner:   NONE: no customer will see this record")
	}
	if !o.Public() {
		if m.OwnerContact != "" {
			fmt.Fprintf(out, ", contact %s", m.OwnerContact)
		}
		if o.Hierarchy() {
			fmt.Fprint(out, " (parent accounts see it too)")
		}
		fmt.Fprintln(out)
	}
	if m.Status != "" {
		fmt.Fprintf(out, "status:  %s = %q; next step: %s\n", m.Status, m.StatusLabel, m.NextStep)
	}
	if m.Hidden {
		fmt.Fprintln(out, "hidden:  yes, the include filter rejects it: no customer will see it")
	}
	fmt.Fprintf(out, "fresh:   stale after %s\n\n", o.Freshness())

	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PORTAL FIELD\tPORTAL VALUE\tSOURCE PATH\tSOURCE VALUE")
	for _, name := range o.FieldNames() {
		path := o.SourcePath(name)
		sv := "-"
		if path == "" {
			path = "(computed)"
		} else if v, ok := sourceValue(src, path); ok {
			sv = compact(v, 40)
		} else {
			sv = "(absent)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", name, compact(m.Fields[name], 40), path, sv)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(m.Problems) > 0 {
		fmt.Fprintln(out, "\nproblems (the field is null):")
		for _, p := range m.Problems {
			fmt.Fprintf(out, "  %s: %s (%s)\n", p.Path, p.Message, p.Code)
		}
	}
	fmt.Fprintln(out, "\nfields each role sees:")
	for role, fields := range roleViews(o, m) {
		switch {
		case fields == nil:
			fmt.Fprintf(out, "  %-15s cannot see %s\n", role, o.Name())
		default:
			fmt.Fprintf(out, "  %-15s %s\n", role, strings.Join(fields, ", "))
		}
	}
	return nil
}

// roleViews lists, per role in a fixed order, the fields that role sees;
// nil when it cannot see the object.
func roleViews(o *mapping.Object, m *mapping.Mapped) func(func(string, []string) bool) {
	return func(yield func(string, []string) bool) {
		for _, role := range mapping.Roles() {
			var fields []string
			if o.VisibleTo([]string{role}) {
				fields = []string{}
				for k := range o.VisibleFields([]string{role}, m.Fields) {
					fields = append(fields, k)
				}
				sort.Strings(fields)
			}
			if !yield(role, fields) {
				return
			}
		}
	}
}

func previewJSON(out io.Writer, o *mapping.Object, raw []byte, m *mapping.Mapped) error {
	roles := map[string][]string{}
	for role, fields := range roleViews(o, m) {
		roles[role] = fields
	}
	doc := map[string]any{
		"object": o.Name(), "connection": o.Connection(), "source_object": o.SourceObject(),
		"file": o.File(), "hash": o.Hash(),
		"source": json.RawMessage(raw), "portal": m, "roles": roles,
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func (c *cli) mappingsSchemaCmd(files *[]string) *cobra.Command {
	var object, connection, op string
	cmd := &cobra.Command{
		Use:   "schema --object OBJECT [--op create|update]",
		Short: "Print the JSON Schema (2020-12) of an object's intake form",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if op != string(mapping.OpCreate) && op != string(mapping.OpUpdate) {
				return usageErr("--op must be create or update; got %q", op)
			}
			set, _, err := c.loadMappingSet(cmd, *files)
			if err != nil {
				return c.mappingErr(err)
			}
			o, err := pickObject(set, object, connection)
			if err != nil {
				return err
			}
			s := o.IntakeSchema(mapping.Op(op))
			if s == nil {
				return failed(fmt.Errorf("mappings: the %s mapping lets customers %s nothing", o.Name(), op))
			}
			_, err = fmt.Fprintln(c.stdout, string(s))
			return err
		},
	}
	cmd.Flags().StringVar(&object, "object", "", "portal object, e.g. case")
	cmd.Flags().StringVar(&connection, "connection", "", "connection, when several feed the object")
	cmd.Flags().StringVar(&op, "op", "create", "create or update")
	return cmd
}

// mappingsApplyCmd re-maps stored records after a mapping change, in the
// foreground with progress. Workers also do it in the background at start.
func (c *cli) mappingsApplyCmd() *cobra.Command {
	var connection string
	cmd := &cobra.Command{
		Use:   "apply [--connection NAME]",
		Short: "Re-map stored records after a mapping change, from their stored payloads (resumable)",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(cmd *cobra.Command, a *app.App) error {
			s := a.Syncer()
			matched := false
			var total int64
			for _, t := range s.Targets() {
				if connection != "" && t.Connection != connection {
					continue
				}
				matched = true
				n, err := s.Remap(cmd.Context(), t.Connection, t.Object, func(p syncer.RemapProgress) {
					fmt.Fprintf(c.stderr, "\r%-12s %-16s %s", p.Connection, p.Object, bar(p.Done, p.Total))
				})
				fmt.Fprint(c.stderr, "\r\033[K")
				if err != nil {
					return failed(err)
				}
				if n > 0 {
					fmt.Fprintf(c.stdout, "%s %s: re-mapped %d records\n", t.Connection, t.Object, n)
				}
				total += n
			}
			if !matched {
				return usageErr("no mapped objects for connection %q", connection)
			}
			fmt.Fprintf(c.stdout, "%d records re-mapped; every stored record is current\n", total)
			// A new source field is in no stored payload: only a re-pull
			// brings it.
			due, err := s.EnqueueRepulls(cmd.Context(), a.River())
			if err != nil {
				return failed(err)
			}
			for _, r := range due {
				if connection == "" || r.Connection == connection {
					fmt.Fprintf(c.stdout, "%s %s: the mapping reads new source fields (%s): a full re-pull is queued; until it ends they are empty (see portico sync status)\n",
						r.Connection, r.Object, strings.Join(r.Paths, ", "))
				}
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&connection, "connection", "", "only this connection")
	return cmd
}

// bar draws a progress bar.
func bar(done, total int64) string {
	const width = 30
	if total <= 0 {
		return ""
	}
	filled := int(done * width / total)
	filled = min(filled, width)
	return fmt.Sprintf("[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
}

// mappingsScaffoldCmd writes a starting mapping of one source object from
// the source's describe.
func (c *cli) mappingsScaffoldCmd() *cobra.Command {
	var connection, object, as, out string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "scaffold --connection NAME --object SOURCE_OBJECT [--as PORTAL_OBJECT] [--out FILE]",
		Short: "Write a starting mapping of a source object from the source's own schema, for the integrator to trim",
		Long: "scaffold describes the source object and writes a mapping of it onto a portal object: the\n" +
			"portal fields matched to source fields by name, picklists as enum values, the owner from the\n" +
			"references to accounts and contacts, and every other scalar field as a custom portal field\n" +
			"(x_...), each with a comment giving the source's type and label. What cannot be matched is\n" +
			"marked TODO with a placeholder, so `portico mappings check --connection` accepts the file as\n" +
			"written. It prints the mapping, or writes it to --out (never over an existing file).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if connection == "" || object == "" {
				return usageErr("mappings scaffold: --connection and --object are required")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			src, d, done, err := c.openDescriber(ctx, cmd, connection, "mappings scaffold")
			if err != nil {
				return err
			}
			defer done()
			in := mapcheck.ScaffoldInput{Connection: connection, Type: src.Config.Type, Object: object, Portal: as}
			if objs, err := src.Connector.Objects(ctx); err == nil {
				for _, o := range objs {
					if o.Name == object {
						in.Info = &o
					}
				}
			}
			b, err := mapcheck.Scaffold(ctx, d, in)
			if err != nil {
				if errors.Is(err, connectors.ErrNotFound) || errors.Is(err, connectors.ErrInvalid) {
					return usageErr("mappings scaffold: %v", err)
				}
				if strings.Contains(err.Error(), "portal object") {
					return usageErr("mappings scaffold: %v", err)
				}
				return failed(fmt.Errorf("mappings scaffold: %w", err))
			}
			if out == "" {
				_, err = c.stdout.Write(b)
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return usageErr("mappings scaffold: %v", err)
			}
			if _, err := f.Write(b); err != nil {
				f.Close()
				return failed(err)
			}
			if err := f.Close(); err != nil {
				return failed(err)
			}
			fmt.Fprintf(c.stdout, "wrote %s: trim it, then run portico mappings check --connection %s\n", out, connection)
			return nil
		},
	}
	cmd.Flags().StringVar(&connection, "connection", "", "the connection whose source to describe")
	cmd.Flags().StringVar(&object, "object", "", "the source object, e.g. Case, Invoice, order")
	cmd.Flags().StringVar(&as, "as", "", "the portal object to map it onto (default: the source object's name in snake case)")
	cmd.Flags().StringVar(&out, "out", "", "write the mapping to this new file instead of printing it")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up on the source after this long")
	return cmd
}

// openDescriber opens a connection whose connector describes its source.
func (c *cli) openDescriber(ctx context.Context, cmd *cobra.Command, connection, what string) (*sources.Source, connectors.Describer, func(), error) {
	src, done, err := c.openSource(ctx, cmd, connection)
	if err != nil {
		return nil, nil, nil, err
	}
	d, ok := src.Connector.(connectors.Describer)
	if !ok {
		done()
		return nil, nil, nil, usageErr("%s: the %s connector of %q cannot describe its source", what, src.Config.Type, connection)
	}
	return src, d, done, nil
}
