package devenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/fakesource"
)

// demoRoles are the roles of the story's people (fakesource.Story.People),
// by email.
var demoRoles = map[string]struct {
	roles    []string
	children bool
}{
	"alice.admin@demo.portico.test":    {roles: []string{auth.RoleAccountAdmin}},
	"mark.member@demo.portico.test":    {roles: []string{auth.RoleMember}},
	"bianca.billing@demo.portico.test": {roles: []string{auth.RoleBilling, auth.RolePurchasing}},
	"owen.member@demo.portico.test":    {roles: []string{auth.RoleMember}},
	"paula.parent@demo.portico.test":   {roles: []string{auth.RoleAccountAdmin}, children: true},
}

const staffEmail = "sam.staff@demo.portico.test"

// DemoUsers creates the demo logins (once: a later run finds them): the
// people of the simulators' demo story, in two customer accounts, the
// first with a parent account whose admin sees both, and one staff user.
// Each is their own contact. Passwords derive from the dev directory's
// admin token, so they survive restarts and differ between machines. The
// customer users created by this call (not found) are returned too.
func DemoUsers(ctx context.Context, pool *pgxpool.Pool, sim *fakesource.Sim, adminToken string) (all, created []User, err error) {
	cast, err := sim.Cast()
	if err != nil {
		return nil, nil, fmt.Errorf("devenv: the demo story: %w", err)
	}
	sum := sha256.Sum256([]byte("portico demo users " + adminToken))
	password := "demo-" + hex.EncodeToString(sum[:8])
	add := func(nu auth.NewUser) error {
		_, err := auth.CreateUser(ctx, pool, nu)
		switch {
		case errors.Is(err, auth.ErrDuplicate):
		case err != nil:
			return fmt.Errorf("devenv: demo user %s: %w", nu.Email, err)
		case !nu.Staff:
			created = append(created, User{Email: nu.Email, Password: password, Account: nu.AccountID, Roles: nu.Roles})
		}
		all = append(all, User{Email: nu.Email, Password: password, Account: nu.AccountID, Roles: nu.Roles})
		return nil
	}
	for _, p := range cast.People {
		r, ok := demoRoles[p.Email]
		if !ok {
			return nil, nil, fmt.Errorf("devenv: the demo story's %s has no demo roles", p.Email)
		}
		if err := add(auth.NewUser{Email: p.Email, Password: password, AccountID: p.Account, ContactID: p.Contact,
			Roles: r.roles, SeeChildAccounts: r.children}); err != nil {
			return nil, nil, err
		}
	}
	if err := add(auth.NewUser{Email: staffEmail, Password: password, Roles: []string{auth.RoleOperatorAdmin}, Staff: true}); err != nil {
		return nil, nil, err
	}
	return all, created, nil
}
