package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/store"
)

// userFlags are the flags create and invite share.
type userFlags struct {
	email, account, contact string
	roles                   []string
	staff, seeChildren      bool
}

func (f *userFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.email, "email", "", "the user's email (required)")
	fs.StringVar(&f.account, "account", "", "CRM account id (Salesforce 001...); required unless --staff")
	fs.StringVar(&f.contact, "contact", "", "CRM contact id the user is")
	fs.StringSliceVar(&f.roles, "roles", nil, "comma-separated: "+strings.Join(auth.AccountRoles, ","))
	fs.BoolVar(&f.staff, "staff", false, "an operator staff user ("+auth.RoleOperatorAdmin+", no account)")
	fs.BoolVar(&f.seeChildren, "see-child-accounts", false, "also see the records of the account's child accounts")
}

func (f *userFlags) newUser(tenantID int64) auth.NewUser {
	return auth.NewUser{TenantID: tenantID, Email: f.email, AccountID: f.account, ContactID: f.contact,
		Roles: f.roles, Staff: f.staff, SeeChildAccounts: f.seeChildren, Now: time.Now()}
}

// flagFor names the flag behind a validation path.
var flagFor = map[string]string{
	"email": "--email", "account_id": "--account", "contact_id": "--contact",
	"roles": "--roles", "staff": "--staff", "password": "--password-stdin",
}

// userErr turns auth's bad-input errors into usage errors naming the flag.
func userErr(err error) error {
	var v *auth.ValidationError
	switch {
	case errors.As(err, &v):
		msgs := make([]string, len(v.Fields))
		for i, f := range v.Fields {
			path, _, _ := strings.Cut(f.Path, "[") // roles[1]: the --roles flag
			name := flagFor[path]
			if name == "" {
				name = f.Path
			}
			msgs[i] = name + ": " + f.Message
		}
		return usageErr("%s", strings.Join(msgs, "; "))
	case errors.Is(err, auth.ErrDuplicate):
		return usageErr("--email: %v", err)
	case errors.Is(err, auth.ErrNotFound):
		return usageErr("--email: no such user: %v", err)
	case errors.Is(err, auth.ErrNotDisabled):
		return usageErr("--email: %v", err)
	}
	return err
}

// withUsersDB opens the database and resolves the tenant for fn.
func (c *cli) withUsersDB(cmd *cobra.Command, tenant string, fn func(ctx context.Context, pool *pgxpool.Pool, tenantID int64) error) error {
	cfg, err := c.loadConfig(cmd)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return app.ErrNoDatabase
	}
	ctx := cmd.Context()
	pool, err := app.OpenPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	t, err := store.TenantBySlug(ctx, pool, tenant)
	if errors.Is(err, store.ErrNotFound) {
		return usageErr("--tenant: no tenant %q", tenant)
	}
	if err != nil {
		return err
	}
	return fn(ctx, pool, t.ID)
}

func (c *cli) usersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Manage portal users: create, invite, list, disable, enable, roles"}
	cmd.PersistentFlags().String("tenant", "default", "tenant slug")
	tenantOf := func(cmd *cobra.Command) string {
		s, _ := cmd.Flags().GetString("tenant")
		return s
	}

	var cf userFlags
	var passwordStdin bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an active user (password from stdin with --password-stdin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nu := cf.newUser(0)
			if passwordStdin {
				raw, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4096))
				if err != nil {
					return fmt.Errorf("users: read password: %w", err)
				}
				if nu.Password = strings.TrimRight(string(raw), "\r\n"); nu.Password == "" {
					return usageErr("--password-stdin: stdin is empty")
				}
			}
			if err := nu.Validate(); err != nil {
				return userErr(err)
			}
			return c.withUsersDB(cmd, tenantOf(cmd), func(ctx context.Context, pool *pgxpool.Pool, tenantID int64) error {
				nu.TenantID = tenantID
				var u auth.User
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					var err error
					if u, err = auth.CreateUser(ctx, tx, nu); err != nil {
						return err
					}
					return auditUser(ctx, tx, "auth.user_create", u)
				})
				if err != nil {
					return userErr(err)
				}
				fmt.Fprintf(c.stdout, "created user %d %s (%s)\n", u.ID, u.Email, strings.Join(u.Roles, ","))
				return nil
			})
		},
	}
	cf.bind(create)
	create.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin (otherwise the user has none until a reset)")

	var inf userFlags
	invite := &cobra.Command{
		Use:   "invite",
		Short: "Invite a user and print the activation link (valid 7 days)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			if err := inf.newUser(0).Validate(); err != nil {
				return userErr(err)
			}
			base := strings.TrimRight(cfg.HTTP.PublicURL, "/")
			if base == "" {
				base = "http://" + cfg.HTTP.Addr
			}
			return c.withUsersDB(cmd, tenantOf(cmd), func(ctx context.Context, pool *pgxpool.Pool, tenantID int64) error {
				var u auth.User
				var link string
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					var err error
					if u, link, err = auth.Invite(ctx, tx, inf.newUser(tenantID), base, time.Now()); err != nil {
						return err
					}
					return auditUser(ctx, tx, "auth.invite", u)
				})
				if err != nil {
					return userErr(err)
				}
				fmt.Fprintf(c.stdout, "invited user %d %s\n%s\n", u.ID, u.Email, link)
				return nil
			})
		},
	}
	inf.bind(invite)

	var account string
	list := &cobra.Command{
		Use:   "list",
		Short: "List users as a table",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withUsersDB(cmd, tenantOf(cmd), func(ctx context.Context, pool *pgxpool.Pool, tenantID int64) error {
				users, err := auth.ListUsers(ctx, pool, tenantID, account)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tEMAIL\tACCOUNT\tCONTACT\tROLES\tSTATUS\tLAST LOGIN")
				for _, u := range users {
					last := "-"
					if u.LastLoginAt != nil {
						last = u.LastLoginAt.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, dash(u.AccountID), dash(u.ContactID),
						strings.Join(u.Roles, ","), u.Status, last)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&account, "account", "", "only this CRM account's users")

	var email string
	disable := &cobra.Command{
		Use:   "disable",
		Short: "Disable a user and end their sessions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.changeUser(cmd, tenantOf(cmd), email, "auth.user_disable", func(ctx context.Context, tx pgx.Tx, tenantID int64) (auth.User, error) {
				return auth.DisableUser(ctx, tx, tenantID, email, time.Now())
			})
		},
	}
	disable.Flags().StringVar(&email, "email", "", "the user's email (required)")

	enable := &cobra.Command{
		Use:   "enable",
		Short: "Let a disabled user sign in again (invited again if they never signed in)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.changeUser(cmd, tenantOf(cmd), email, "auth.user_enable", func(ctx context.Context, tx pgx.Tx, tenantID int64) (auth.User, error) {
				return auth.EnableUser(ctx, tx, tenantID, email, time.Now())
			})
		},
	}
	enable.Flags().StringVar(&email, "email", "", "the user's email (required)")

	var roles []string
	setRoles := &cobra.Command{
		Use:   "roles",
		Short: "Give a customer user exactly these roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("roles") {
				return usageErr("--roles: is required")
			}
			return c.changeUser(cmd, tenantOf(cmd), email, "auth.user_roles", func(ctx context.Context, tx pgx.Tx, tenantID int64) (auth.User, error) {
				return auth.SetUserRoles(ctx, tx, tenantID, email, roles, time.Now())
			})
		},
	}
	setRoles.Flags().StringVar(&email, "email", "", "the user's email (required)")
	setRoles.Flags().StringSliceVar(&roles, "roles", nil, "comma-separated: "+strings.Join(auth.AccountRoles, ","))

	cmd.AddCommand(create, invite, list, disable, enable, setRoles)
	return cmd
}

// changeUser makes one change to the user of email in a transaction with
// its audit event (action), and prints the user as they are after it.
func (c *cli) changeUser(cmd *cobra.Command, tenant, email, action string, change func(context.Context, pgx.Tx, int64) (auth.User, error)) error {
	if email == "" {
		return usageErr("--email: is required")
	}
	return c.withUsersDB(cmd, tenant, func(ctx context.Context, pool *pgxpool.Pool, tenantID int64) error {
		var u auth.User
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var err error
			if u, err = change(ctx, tx, tenantID); err != nil {
				return err
			}
			return auditUser(ctx, tx, action, u)
		})
		if err != nil {
			return userErr(err)
		}
		fmt.Fprintf(c.stdout, "user %d %s: %s, roles %s\n", u.ID, u.Email, u.Status, strings.Join(u.Roles, ","))
		return nil
	})
}

// auditUser records a change to user u made from the command line, as
// the console's staff changes are recorded: the user, their account,
// roles and status after it.
func auditUser(ctx context.Context, tx pgx.Tx, action string, u auth.User) error {
	return audit.Record(ctx, tx, audit.Event{TenantID: u.TenantID, Actor: cliActor, AccountID: u.AccountID, Action: action,
		Object: "user", ObjectID: strconv.FormatInt(u.ID, 10),
		After: map[string]any{"email": u.Email, "account_id": u.AccountID, "roles": u.Roles, "status": u.Status}})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
