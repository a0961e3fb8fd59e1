package mapcheck_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/salesforce"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/mapcheck"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
)

// simOrg is a Salesforce connector on a simulated org.
func simOrg(t *testing.T, opts fakesource.Options) connectors.Describer {
	t.Helper()
	sim, srv := fakesourcetest.Start(t, opts)
	cr := sim.Credentials(srv.URL).Salesforce
	c, err := salesforce.NewWithOptions(connectors.Deps{
		Connection: connectors.Connection{Name: "salesforce", BaseURL: cr.BaseURL, TokenURL: cr.TokenURL,
			ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken},
		HTTP: srv.Client(),
	}, salesforce.Options{})
	require.NoError(t, err)
	return c
}

// at is the file:line:col of the first occurrence of marker in text (col
// of the marker's first character), as the checker reports it.
func at(t *testing.T, text, marker string) string {
	t.Helper()
	i := strings.Index(text, marker)
	require.GreaterOrEqual(t, i, 0, marker)
	require.Equal(t, i, strings.LastIndex(text, marker), "marker %q is not unique", marker)
	line := strings.Count(text[:i], "\n") + 1
	col := i - strings.LastIndex(text[:i], "\n")
	return fmt.Sprintf("case.yaml:%d:%d", line, col)
}

const caseMapping = `version: 1
connection: salesforce
objects:
  case:
    source: {object: Case, key: Id, version: SystemModstamp, modified: LastModifiedDate}
    owner: {account: AccountId, contact: ContactId, hierarchy: true}
    freshness: 60s
    roles: [account_admin, member]
    fields:
      id: Id
      number:
        source: CaseNumber
        direction: [read, create]
        validate: {max_length: 30}
      subject: {source: Subject, direction: [read, update], validate: {max_length: 255}}
      description: description
      status:
        source: Status
        values: {New: new, Working: in_progress, Closed: closed}
        direction: [read, update]
        validate: {allowed: [closed]}
      priority:
        source: Priority
        values: {Low: low, Medium: medium, High: high, Urgent: high}
        direction: [read, create]
        validate: {allowed: [low, medium]}
      type: {source: Type, direction: [read, create], validate: {max_length: 40}}
      account_name: {source: Account.Name, direction: [read, create], validate: {max_length: 80}}
      contact_name: Contact.Nmaee
      created_at: IsClosed
      closed_at: {source: ClosedDate, transform: "value == true ? 'yes' : 'no'"}
      x_region: {source: Region__c, type: string}
      x_escalated: {source: IsEscalated__c, type: bool}
    status:
      new: {label: Received, next_step: We have it.}
      in_progress: {label: In progress, next_step: We are on it.}
      closed: {label: Closed, next_step: Nothing more to do.}
    writes:
      create:
        set:
          Origin: "'Fax'"
          AccountId: actor.account_id
`

// Each class of mismatch is reported at the file:line:col of the mapping
// that causes it, in the source's own words; a mapping that fits has
// none.
func TestEachClassOfMismatch(t *testing.T) {
	t.Parallel()
	d := simOrg(t, fakesource.Options{Seed: 3, Records: 20, SalesforceCustomFields: map[string][]string{"Case": {"Region__c"}}})
	set, err := mapping.Parse("case.yaml", []byte(caseMapping))
	require.NoError(t, err)
	res, err := mapcheck.Check(context.Background(), set, "salesforce", d)
	require.NoError(t, err)
	require.Equal(t, 1, res.Objects)
	var got []string
	for _, p := range res.Problems {
		got = append(got, p.Error())
	}
	m := caseMapping
	want := []string{
		// a write field must be createable (or updateable)
		at(t, m, "CaseNumber\n") + `: Case.CaseNumber ("Case Number") is not createable: the source refuses it on create (the direction of number)`,
		// a create must set what the source requires
		at(t, m, "create:\n        set") + `: case: Case.Subject is required to create a Case, and the mapping's create does not set it (give a field direction [create], or writes.create.set)`,
		// the field must exist; names are case-sensitive
		at(t, m, "description\n") + `: Case.description does not exist (did you mean Description? names are case-sensitive)`,
		// a picklist must have every value the mapping's values name
		at(t, m, "Urgent: high") + `: Case.Priority is a picklist without value "Urgent" (values: Low, Medium, High)`,
		// a related record's field cannot be written with the case
		at(t, m, "Account.Name, direction") + `: Account.Name is a field of a related record (Account.Name): a create of the account_name cannot set it`,
		// a relationship path is checked against the related object
		at(t, m, "Contact.Nmaee") + `: Contact.Nmaee does not exist (did you mean Name?)`,
		// the type must fit the portal field's
		at(t, m, "IsClosed\n") + `: Case.IsClosed ("Is Closed") is a boolean (bool), which does not fit created_at's portal type datetime: add a transform that converts it, or map another field`,
		// and the transform that reads it
		at(t, m, "ClosedDate, transform") + `: Case.ClosedDate ("Closed Date") is a datetime, which the transform of closed_at cannot read as written: found no matching overload for '_==_' applied to '(wrapper(string), bool)'`,
		at(t, m, "IsEscalated__c") + `: Case.IsEscalated__c does not exist`,
		// a constant a create sets must be one of a restricted picklist's values
		at(t, m, "Origin:") + `: Case.Origin is a picklist without value "Fax", which writes set (values: Web, Email, Phone, Portal)`,
	}
	require.ElementsMatch(t, want, got, strings.Join(got, "\n"))
	require.NotContains(t, strings.Join(got, "\n"), "Region__c", "the org's custom field exists")

	// The shipped mappings fit the simulated org.
	shipped, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	res, err = mapcheck.Check(context.Background(), shipped, "salesforce", d)
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	require.Equal(t, 8, res.Objects)
}

// A create that does not set the field the owning account is read from
// makes a record of nobody's at the source: the check says so where the
// create is written, and how to set it. A record that owns itself (an
// account) and one owned through its parent are not asked to.
func TestACreateThatSetsNoOwner(t *testing.T) {
	t.Parallel()
	d := simOrg(t, fakesource.Options{Seed: 3, Records: 20})
	const m = `version: 1
connection: salesforce
objects:
  case:
    source: {object: Case, key: Id, version: SystemModstamp, modified: LastModifiedDate}
    owner: {account: AccountId, contact: ContactId}
    freshness: 60s
    roles: [member]
    fields:
      id: Id
      number: CaseNumber
      subject: {source: Subject, direction: [read, create], validate: {max_length: 255}}
      status: {source: Status, values: {New: new, Closed: closed}}
    status:
      new: {label: Received, next_step: We have it.}
      closed: {label: Closed, next_step: Nothing more to do.}
    writes:
      create:
        set:
          Origin: "'Web'"
          ContactId: actor.contact_id
`
	set, err := mapping.Parse("case.yaml", []byte(m))
	require.NoError(t, err)
	res, err := mapcheck.Check(context.Background(), set, "salesforce", d)
	require.NoError(t, err)
	require.Len(t, res.Problems, 1, "%v", res.Problems)
	require.Equal(t, at(t, m, "create:\n        set")+": case: its owning account is read from Case.AccountId, which the mapping's create does not set: "+
		"a Case created in the portal would belong to no account at the source and leave its creator's lists at the next sync (writes.create.set: {AccountId: actor.account_id})",
		res.Problems[0].Error())

	fixed, err := mapping.Parse("case.yaml", []byte(strings.Replace(m, "ContactId: actor.contact_id", "AccountId: actor.account_id", 1)))
	require.NoError(t, err)
	res, err = mapcheck.Check(context.Background(), fixed, "salesforce", d)
	require.NoError(t, err)
	require.Empty(t, res.Problems)
}

// An org without Portico's custom fields lacks the cross-references the
// shipped account mapping reads: the check names them where they are
// mapped.
func TestOrgWithoutPorticoFields(t *testing.T) {
	t.Parallel()
	d := simOrg(t, fakesource.Options{Seed: 3, Records: 20, SalesforceWithoutPorticoFields: true})
	shipped, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	res, err := mapcheck.Check(context.Background(), shipped, "salesforce", d)
	require.NoError(t, err)
	var got []string
	for _, p := range res.Problems {
		got = append(got, p.Error())
	}
	require.Equal(t, []string{
		"salesforce.yaml:20:40: Account.QuickBooks_Customer_Id__c does not exist",
		"salesforce.yaml:21:39: Account.Square_Customer_Id__c does not exist",
	}, got)
}

// A source that cannot describe an object is a problem of that object,
// not the end of the check.
func TestUndescribable(t *testing.T) {
	t.Parallel()
	d := simOrg(t, fakesource.Options{Seed: 3, Records: 20})
	set, err := mapping.Parse("case.yaml", []byte(strings.Replace(caseMapping, "object: Case,", "object: Kase,", 1)))
	require.NoError(t, err)
	res, err := mapcheck.Check(context.Background(), set, "salesforce", d)
	require.NoError(t, err)
	require.Len(t, res.Problems, 1)
	require.Contains(t, res.Problems[0].Error(), "case.yaml:4:3: case: the source cannot describe Kase")
}
