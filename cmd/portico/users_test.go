package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
)

// porticoStdin runs the CLI in-process with stdin, mapping errors to exit
// codes as run does.
func porticoStdin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &cli{stdout: &stdout, stderr: &stderr}
	root := c.rootCmd()
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	err := root.ExecuteContext(context.Background())
	if err == nil {
		return exitOK, stdout.String(), stderr.String()
	}
	stderr.WriteString(err.Error())
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code, stdout.String(), stderr.String()
	}
	return exitFailed, stdout.String(), stderr.String()
}

func TestUsersCommands(t *testing.T) {
	t.Parallel()
	db := dbtest.URL(t)

	code, out, errOut := porticoStdin(t, "violet-harbour-lantern-42\n", "--database-url", db, "users", "create",
		"--email", "ana@acme.test", "--account", "001ACME", "--contact", "003ANA", "--roles", "member,billing", "--password-stdin")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "created user")

	code, out, errOut = porticoStdin(t, "", "--database-url", db, "users", "create", "--email", "ops@operator.test", "--staff")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "operator_admin")

	for _, bad := range []struct {
		args []string
		flag string
	}{
		{[]string{"--email", "x@acme.test", "--roles", "member"}, "--account"},
		{[]string{"--email", "x@acme.test", "--account", "001A", "--roles", "boss"}, "--roles"},
		{[]string{"--email", "nope", "--account", "001A", "--roles", "member"}, "--email"},
		{[]string{"--email", "ana@acme.test", "--account", "001A", "--roles", "member"}, "--email"},
		{[]string{"--email", "y@acme.test", "--account", "001A", "--roles", "member", "--password-stdin"}, "--password-stdin"},
	} {
		code, _, errOut := porticoStdin(t, "short\n", append([]string{"--database-url", db, "users", "create"}, bad.args...)...)
		require.Equal(t, exitUsage, code, "%v: %s", bad.args, errOut)
		require.Contains(t, errOut, bad.flag, bad.args)
	}

	code, out, errOut = porticoStdin(t, "", "--database-url", db, "users", "invite", "--email", "new@acme.test", "--account", "001ACME", "--roles", "member")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "/activate?token=")

	code, _, errOut = porticoStdin(t, "", "--database-url", db, "users", "disable", "--email", "ana@acme.test")
	require.Equal(t, exitOK, code, errOut)
	code, _, errOut = porticoStdin(t, "", "--database-url", db, "users", "disable", "--email", "ghost@acme.test")
	require.Equal(t, exitUsage, code, errOut)
	require.Contains(t, errOut, "--email")

	code, out, errOut = porticoStdin(t, "", "--database-url", db, "users", "list")
	require.Equal(t, exitOK, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	require.Regexp(t, `^ID\s+EMAIL\s+ACCOUNT\s+CONTACT\s+ROLES\s+STATUS\s+LAST LOGIN$`, lines[0])
	require.Regexp(t, `ana@acme.test\s+001ACME\s+003ANA\s+member,billing\s+disabled`, out)
	require.Regexp(t, `new@acme.test\s+001ACME\s+-\s+member\s+invited`, out)
	require.Regexp(t, `ops@operator.test\s+-\s+-\s+operator_admin\s+active`, out)

	code, out, _ = porticoStdin(t, "", "--database-url", db, "users", "list", "--account", "001ACME")
	require.Equal(t, exitOK, code)
	require.NotContains(t, out, "ops@operator.test")

	code, _, errOut = porticoStdin(t, "", "--database-url", db, "users", "list", "--tenant", "nope")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "--tenant")

	// Each change is in the audit log, made from the command line; the
	// refused ones left nothing.
	require.Equal(t, []string{"staff:cli auth.user_create user:1", "staff:cli auth.user_create user:2", "staff:cli auth.invite user:4",
		"staff:cli auth.user_disable user:1"}, auditTrail(t, db))
}

// TestUsersEnableAndRoles: staff without the console enable a disabled
// user (active again with a password, invited again without) and set a
// customer's roles; bad input names the flag, exits with the usage code
// and changes nothing; an account keeps an active admin; every change is
// audited as made from the command line.
func TestUsersEnableAndRoles(t *testing.T) {
	t.Parallel()
	db := dbtest.URL(t)
	run := func(stdin string, args ...string) (int, string, string) {
		return porticoStdin(t, stdin, append([]string{"--database-url", db, "users"}, args...)...)
	}
	for _, u := range []string{"ana@acme.test", "boss@acme.test"} {
		roles := "member,billing"
		if u == "boss@acme.test" {
			roles = "account_admin"
		}
		code, _, errOut := run("violet-harbour-lantern-42\n", "create", "--email", u, "--account", "001ACME", "--roles", roles, "--password-stdin")
		require.Equal(t, exitOK, code, errOut)
	}
	code, _, errOut := run("", "create", "--email", "ops@operator.test", "--staff")
	require.Equal(t, exitOK, code, errOut)
	code, _, errOut = run("", "invite", "--email", "new@acme.test", "--account", "001ACME", "--roles", "member")
	require.Equal(t, exitOK, code, errOut)

	code, out, errOut := run("", "roles", "--email", "ana@acme.test", "--roles", "member")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "ana@acme.test: active, roles member")
	for _, bad := range []struct {
		args []string
		flag string
	}{
		{[]string{"roles", "--email", "ana@acme.test", "--roles", "member,boss"}, "--roles"},
		{[]string{"roles", "--email", "ana@acme.test"}, "--roles"},
		{[]string{"roles", "--roles", "member"}, "--email"},
		{[]string{"roles", "--email", "ghost@acme.test", "--roles", "member"}, "--email"},
		{[]string{"roles", "--email", "ops@operator.test", "--roles", "member"}, "--roles"},
		{[]string{"roles", "--email", "boss@acme.test", "--roles", "member"}, "--roles"}, // the account's last active admin
		{[]string{"enable", "--email", "ana@acme.test"}, "--email"},                      // not disabled
		{[]string{"enable", "--email", "ghost@acme.test"}, "--email"},
	} {
		code, _, errOut := run("", bad.args...)
		require.Equal(t, exitUsage, code, "%v: %s", bad.args, errOut)
		require.Contains(t, errOut, bad.flag, bad.args)
	}
	code, out, _ = run("", "list")
	require.Equal(t, exitOK, code)
	require.Regexp(t, `ana@acme.test\s+001ACME\s+-\s+member\s+active`, out, "refused changes changed nothing")
	require.Regexp(t, `boss@acme.test\s+001ACME\s+-\s+account_admin\s+active`, out)

	for _, u := range []string{"ana@acme.test", "new@acme.test"} {
		code, _, errOut = run("", "disable", "--email", u)
		require.Equal(t, exitOK, code, errOut)
	}
	code, out, errOut = run("", "enable", "--email", "ana@acme.test")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "ana@acme.test: active", "she has a password")
	code, out, errOut = run("", "enable", "--email", "new@acme.test")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "new@acme.test: invited", "never signed in: invited again")

	require.Equal(t, []string{"staff:cli auth.user_create user:1", "staff:cli auth.user_create user:2", "staff:cli auth.user_create user:3",
		"staff:cli auth.invite user:4", "staff:cli auth.user_roles user:1", "staff:cli auth.user_disable user:1",
		"staff:cli auth.user_disable user:4", "staff:cli auth.user_enable user:1", "staff:cli auth.user_enable user:4"}, auditTrail(t, db))
}
