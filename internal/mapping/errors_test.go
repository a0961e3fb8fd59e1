package mapping_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/mapping"
)

// Each deliberately broken file yields exactly these errors, each at the
// line and column an integrator has to fix.
func TestBrokenFilesReportEveryErrorWithPosition(t *testing.T) {
	t.Parallel()
	cases := map[string][]mapping.Error{
		"unknown_type.yaml": {
			{Line: 13, Col: 37, Msg: `unknown field type "duration" (known: id, string, text, email, enum, int, number, bool, date, datetime, binary, list)`},
		},
		"bad_cel.yaml": {
			// The columns point into the file: the end of the expression,
			// and the call of the unknown function.
			{Line: 11, Col: 98, Msg: "bad CEL expression: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}"},
			{Line: 12, Col: 78, Msg: "bad CEL expression: undeclared reference to 'noSuchFunction'"},
		},
		"unknown_portal_field.yaml": {
			{Line: 13, Col: 7, Msg: "unknown portal field contact.shoe_size (known: id, account_id, first_name, last_name, email, phone, title; custom fields start with x_)"},
		},
		"write_without_validation.yaml": {
			{Line: 12, Col: 7, Msg: "write field last_name has no validation (validate: required, max_length, pattern, allowed, min, max)"},
			{Line: 16, Col: 19, Msg: "write field title needs max_length, pattern or allowed"},
		},
		"missing_owner.yaml": {
			{Line: 4, Col: 3, Msg: "invoice: missing owner relation (owner: {account: <source path>, contact: <source path>, hierarchy: true|false})"},
		},
		"status_without_label.yaml": {
			{Line: 15, Col: 5, Msg: `status "accepted" has no customer-facing label and next_step`},
			{Line: 16, Col: 7, Msg: `status "pending" needs a customer-facing label and next_step`},
		},
		"yaml_syntax.yaml": {
			{Line: 3, Col: 1, Msg: "line 3: did not find expected ',' or '}'"},
		},
	}
	files, err := filepath.Glob("testdata/broken/*.yaml")
	require.NoError(t, err)
	require.Len(t, files, len(cases), "every broken file has expectations")
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join("testdata", "broken", name)
			set, err := mapping.LoadFiles(file)
			require.Nil(t, set)
			var errs mapping.Errors
			require.True(t, errors.As(err, &errs), "%v", err)
			for i := range want {
				want[i].File = file
			}
			require.Equal(t, mapping.Errors(want), errs)
		})
	}
}

func TestOwnerParentMustBeMapped(t *testing.T) {
	t.Parallel()
	_, err := mapping.Parse("c.yaml", []byte(`version: 1
connection: salesforce
objects:
  case_comment:
    source: {object: CaseComment, key: Id}
    owner: {parent: {object: case, source: ParentId}}
    freshness: 60s
    roles: [member]
    fields: {id: Id, case_id: ParentId, body: CommentBody}
  document:
    source: {object: ContentVersion, key: Id}
    owner: {parent: {object: product, source: X}, account: AccountId, contact: ContactId}
    freshness: 60s
    roles: [member]
    fields: {id: Id, title: Title}
`))
	require.EqualError(t, err, `c.yaml:6:30: owner parent case is not mapped from connection "salesforce"
c.yaml:12:12: owner: give either parent or contact, not both
c.yaml:12:21: owner parent: "product" is not an owned portal object`)
}

// A file with many problems reports all of them in one pass, sorted.
func TestAllErrorsAtOnce(t *testing.T) {
	t.Parallel()
	_, err := mapping.Parse("many.yaml", []byte(`version: 1
connection: salesforce
objects:
  gizmo: {}
  case:
    source: {object: Case}
    colour: blue
    freshness: soon
    roles: [member, janitor]
    fields:
      id: Id
      subject: {source: "Sub ject"}
      priority: {source: Priority, type: enum}
      description: {source: Description, validate: {pattern: "("}}
`))
	var errs mapping.Errors
	require.ErrorAs(t, err, &errs)
	got := []string{}
	for _, e := range errs {
		got = append(got, e.Error())
	}
	require.Equal(t, []string{
		`many.yaml:4:3: unknown portal object "gizmo" (known: account, approval_line, approval_request, case, case_comment, contact, document, invoice, knowledge_article, order, payment, product, stock_level)`,
		`many.yaml:5:3: case: missing owner relation (owner: {account: <source path>, contact: <source path>, hierarchy: true|false})`,
		`many.yaml:5:3: case: missing status (a label and next_step for every status value)`,
		`many.yaml:6:13: source: missing key (the source id field, e.g. Id)`,
		`many.yaml:7:5: case: unknown key "colour" (known: source, owner, include, freshness, roles, decide, sign, fields, status, writes)`,
		`many.yaml:8:16: freshness "soon" must be a positive duration such as 60s or 15m`,
		`many.yaml:9:12: unknown role "janitor" (known: account_admin, member, billing, purchasing, operator_admin)`,
		`many.yaml:11:7: required portal field case.number is not mapped`,
		`many.yaml:11:7: required portal field case.status is not mapped`,
		`many.yaml:12:25: source "Sub ject" is not a source path (names joined by dots, e.g. Account.Name)`,
		`many.yaml:13:7: enum field priority needs values (source value: portal value)`,
		`many.yaml:14:62: bad pattern: error parsing regexp: missing closing ): ` + "`(`",
	}, got)
}

// decide and sign: roles among the object's, a boolean, and only on
// approval requests; each bad value at its line and column.
func TestDecideAndSignErrors(t *testing.T) {
	t.Parallel()
	base := `version: 1
connection: salesforce
objects:
  approval_request:
    source: {object: Quote, key: Id}
    owner: {account: AccountId}
    freshness: 5m
    roles: [account_admin, purchasing]
%s
    fields:
      id: Id
      name: Name
      status: {source: Status, values: {Presented: pending}}
    status:
      pending: {label: Awaiting your decision, next_step: Decide.}
`
	for _, tc := range []struct{ yaml, want string }{
		{"    decide: [member]\n    sign: yes please", `x.yaml:9:13: role "member" cannot see this object (object roles: account_admin, purchasing)|x.yaml:10:11: sign must be true or false`},
		{"    decide: []", `x.yaml:9:13: decide must name at least one role (leave it out to let every role that sees the request decide)`},
		{"    decide: [janitor]", `x.yaml:9:13: unknown role "janitor" (known: account_admin, member, billing, purchasing, operator_admin)`},
	} {
		_, err := mapping.Parse("x.yaml", []byte(fmt.Sprintf(base, tc.yaml)))
		var errs mapping.Errors
		require.ErrorAs(t, err, &errs, tc.yaml)
		got := []string{}
		for _, e := range errs {
			got = append(got, e.Error())
		}
		require.Equal(t, tc.want, strings.Join(got, "|"))
	}
	set, err := mapping.Parse("x.yaml", []byte(fmt.Sprintf(base, "    decide: [purchasing]\n    sign: true")))
	require.NoError(t, err)
	obj, ok := set.Object("approval_request")
	require.True(t, ok)
	require.True(t, obj.Sign())
	require.True(t, obj.MayDecide([]string{"purchasing"}))
	require.True(t, obj.MayDecide([]string{"account_admin"}), "account_admin decides what it sees")
	require.False(t, obj.MayDecide([]string{"member", "billing"}))

	_, err = mapping.Parse("y.yaml", []byte(`version: 1
connection: salesforce
objects:
  knowledge_article:
    source: {object: Knowledge__kav, key: Id}
    freshness: 1h
    roles: [member]
    sign: true
    fields:
      id: Id
      title: Title
`))
	require.ErrorContains(t, err, "y.yaml:8:11: knowledge_article: only approval_request is decided or signed")
}
