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

// maxScan bounds the search of the simulator's seed for demo accounts.
const maxScan = 2000

// demoAccounts finds, in the simulated CRM's seed, an account with a
// parent account and a second, unrelated account, with one contact of
// each where it has one.
func demoAccounts(sim *fakesource.Sim) (parent, child, other string, contacts map[string]string, err error) {
	parentOf := map[string]string{}
	for i := range maxScan {
		id, err := sim.SeedID(fakesource.Salesforce, "Account", i)
		if err != nil {
			break
		}
		rec, err := sim.Record(fakesource.Salesforce, "Account", id)
		if err != nil {
			return "", "", "", nil, err
		}
		p, _ := rec["ParentId"].(string)
		parentOf[id] = p
		if child == "" && p != "" {
			child, parent = id, p
		}
	}
	for id, p := range parentOf {
		if id != parent && id != child && p != parent && p != child && parentOf[parent] != id && (other == "" || id < other) {
			other = id
		}
	}
	if child == "" || other == "" {
		return "", "", "", nil, errors.New("devenv: the simulated CRM has no account hierarchy to demonstrate")
	}
	contacts = map[string]string{}
	for i := range maxScan * 3 {
		id, err := sim.SeedID(fakesource.Salesforce, "Contact", i)
		if err != nil {
			break
		}
		rec, err := sim.Record(fakesource.Salesforce, "Contact", id)
		if err != nil {
			return "", "", "", nil, err
		}
		if acc, _ := rec["AccountId"].(string); acc != "" && contacts[acc] == "" {
			contacts[acc] = id
		}
	}
	return parent, child, other, contacts, nil
}

// DemoUsers creates the demo logins (once: a later run finds them) in two
// customer accounts, the first with a parent account whose admin sees
// both, and one staff user. Passwords derive from the dev directory's
// admin token, so they survive restarts and differ between machines.
func DemoUsers(ctx context.Context, pool *pgxpool.Pool, sim *fakesource.Sim, adminToken string) ([]User, error) {
	parent, child, other, contacts, err := demoAccounts(sim)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte("portico demo users " + adminToken))
	password := "demo-" + hex.EncodeToString(sum[:8])
	type spec struct {
		email, account string
		roles          []string
		children       bool
		staff          bool
	}
	specs := []spec{
		{email: "alice.admin@demo.portico.test", account: child, roles: []string{auth.RoleAccountAdmin}},
		{email: "mark.member@demo.portico.test", account: child, roles: []string{auth.RoleMember}},
		{email: "bianca.billing@demo.portico.test", account: other, roles: []string{auth.RoleBilling, auth.RolePurchasing}},
		{email: "owen.member@demo.portico.test", account: other, roles: []string{auth.RoleMember}},
		{email: "paula.parent@demo.portico.test", account: parent, roles: []string{auth.RoleAccountAdmin}, children: true},
		{email: "sam.staff@demo.portico.test", roles: []string{auth.RoleOperatorAdmin}, staff: true},
	}
	users := make([]User, 0, len(specs))
	for _, s := range specs {
		_, err := auth.CreateUser(ctx, pool, auth.NewUser{
			Email: s.email, Password: password, AccountID: s.account, ContactID: contacts[s.account],
			Roles: s.roles, Staff: s.staff, SeeChildAccounts: s.children,
		})
		if err != nil && !errors.Is(err, auth.ErrDuplicate) {
			return nil, fmt.Errorf("devenv: demo user %s: %w", s.email, err)
		}
		users = append(users, User{Email: s.email, Password: password, Account: s.account, Roles: s.roles})
	}
	return users, nil
}
