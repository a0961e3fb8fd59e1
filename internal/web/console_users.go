package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/porticohq/portico/internal/auth"
)

// UserList lists the tenant's users, of one account when accountID is
// not empty (auth.ListUsers, as `portico users list` does).
type UserList func(ctx context.Context, accountID string) ([]auth.User, error)

type staffUserRow struct {
	Email, Href, Account, Roles, Status, LastLogin string
}

type accountRow struct {
	Account, Href string
	Users, Active int
}

type usersPage struct {
	Account  string
	Accounts []accountRow
	Users    []staffUserRow
	// Roles are those an invitation offers; Chosen those ticked in a
	// refused one.
	Roles  []string
	Chosen map[string]bool
}

func (wb *Web) consoleUsers(w http.ResponseWriter, r *http.Request) {
	wb.showConsoleUsers(w, r, http.StatusOK, nil)
}

// showConsoleUsers renders the users page; bad are a refused
// invitation's field errors (message keys), shown beside the fields with
// what was entered.
func (wb *Web) showConsoleUsers(w http.ResponseWriter, r *http.Request, status int, bad map[string]string) {
	if wb.d.Users == nil {
		wb.notFound(w, r)
		return
	}
	account := strings.TrimSpace(r.URL.Query().Get("account"))
	users, err := wb.d.Users(r.Context(), account)
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	v := wb.newView(r, key("console.users.title"), nil)
	v.Section = "console"
	v.Form["account"] = account
	l := v.L
	p := usersPage{Account: account, Roles: auth.AccountRoles, Chosen: map[string]bool{}}
	if len(bad) > 0 {
		v.Alert = key("form.fix_fields")
		for f, k := range bad {
			v.Fields[f] = l.T(k)
		}
		for _, f := range []string{"email", "account_id", "contact_id", "staff", "see_child_accounts"} {
			v.Form[f] = r.PostForm.Get(f)
		}
		for _, role := range r.PostForm["roles"] {
			p.Chosen[role] = true
		}
	}
	byAccount := map[string]*accountRow{}
	for _, u := range users {
		acct := u.AccountID
		if u.Staff {
			acct = l.T("console.users.staff")
		}
		row := staffUserRow{Email: u.Email, Href: "/console/users/" + strconv.FormatInt(u.ID, 10), Account: acct, Roles: strings.Join(u.Roles, ", "),
			Status: l.T("console.users.status." + u.Status), LastLogin: l.T("console.users.never")}
		if u.LastLoginAt != nil {
			row.LastLogin = l.DateTime(*u.LastLoginAt)
		}
		p.Users = append(p.Users, row)
		if u.Staff {
			continue
		}
		a, ok := byAccount[u.AccountID]
		if !ok {
			a = &accountRow{Account: u.AccountID, Href: "/console/users?account=" + u.AccountID}
			byAccount[u.AccountID] = a
		}
		a.Users++
		if u.Status == "active" {
			a.Active++
		}
	}
	for _, a := range byAccount {
		p.Accounts = append(p.Accounts, *a)
	}
	slices.SortFunc(p.Accounts, func(a, b accountRow) int { return strings.Compare(a.Account, b.Account) })
	v.Page = p
	wb.render(w, r, status, "console_users", v)
}
