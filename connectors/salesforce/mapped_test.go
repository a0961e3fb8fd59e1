package salesforce

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

// onSimWith is onSim with the connection's mapped fields and settings, and
// a transport that can lose the answer to a write.
func onSimWith(t *testing.T, so fakesource.Options, fields map[string][]string, settings map[string]string) (*fakesource.Sim, *Connector, *loseAnswer) {
	t.Helper()
	sim, srv := fakesourcetest.Start(t, so)
	cr := sim.Credentials(srv.URL).Salesforce
	lose := &loseAnswer{base: srv.Client().Transport}
	c, err := NewWithOptions(connectors.Deps{
		Connection: connectors.Connection{Name: "crm", BaseURL: cr.BaseURL, TokenURL: cr.TokenURL,
			ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken,
			Fields: fields, Settings: settings},
		HTTP: &http.Client{Transport: lose},
	}, Options{})
	require.NoError(t, err)
	return sim, c, lose
}

// loseAnswer drops the answer to the next create (POST to an sObject) once
// armed, after the source applied it.
type loseAnswer struct {
	base  http.RoundTripper
	armed atomic.Bool
}

func (l *loseAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(req)
	if err == nil && req.Method == http.MethodPost && strings.Contains(req.URL.Path, "/sobjects/") && l.armed.CompareAndSwap(true, false) {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errors.New("connection reset after the request was sent")
	}
	return resp, err
}

// A custom field and a related record's field that a mapping names are
// read by pulls and by targeted reads alike, with no change to the
// connector; what no mapping names is not selected.
func TestMappedFieldsAreRead(t *testing.T) {
	t.Parallel()
	sim, c, _ := onSimWith(t, fakesource.Options{Seed: 5, Records: 300, SalesforceCustomFields: map[string][]string{"Case": {"Region__c"}}},
		map[string][]string{"Case": {"Id", "SystemModstamp", "Subject", "AccountId", "Region__c", "Account.Name", "Owner.Email"}}, nil)
	ctx := context.Background()
	id, err := sim.SeedID(fakesource.Salesforce, "Case", 3)
	require.NoError(t, err)
	require.NoError(t, sim.StaffEdit(fakesource.Salesforce, "Case", id, map[string]any{"Region__c": "EMEA"}))
	stored, err := sim.Record(fakesource.Salesforce, "Case", id)
	require.NoError(t, err)
	acct, err := sim.Record(fakesource.Salesforce, "Account", stored["AccountId"].(string))
	require.NoError(t, err)

	check := func(raw []byte, how string) {
		t.Helper()
		require.Equal(t, "EMEA", gjson.GetBytes(raw, "Region__c").String(), how)
		require.Equal(t, acct["Name"], gjson.GetBytes(raw, "Account.Name").String(), how)
		require.Equal(t, "Account", gjson.GetBytes(raw, "Account.attributes.type").String(), how)
		require.Contains(t, gjson.GetBytes(raw, "Owner.Email").String(), "@", how)
		require.False(t, gjson.GetBytes(raw, "Description").Exists(), "%s: an unmapped field is not selected", how)
	}
	var found bool
	for page := ""; ; {
		p, err := c.Pull(ctx, connectors.PullRequest{Object: "Case", Page: page})
		require.NoError(t, err)
		for _, r := range p.Records {
			if r.ID == id {
				found = true
				check(r.Raw, "pull")
			}
		}
		if page = p.Next; page == "" {
			break
		}
	}
	require.True(t, found)
	rec, err := c.Get(ctx, "Case", id)
	require.NoError(t, err)
	check(rec.Raw, "get")
	require.NotEmpty(t, rec.Version)
	require.Equal(t, 0, sim.Stats().CallCount(fakesource.Salesforce, "GET sobjects/{Obj}/{Id}", 0), "a targeted read is a query, not an sObject GET")

	// Only a well-formed id reaches a query.
	for _, bad := range []string{"500' OR Name != '", "5000000000", ""} {
		_, err := c.Get(ctx, "Case", bad)
		require.ErrorIs(t, err, connectors.ErrInvalid, bad)
	}
}

// An org without Portico's custom fields (no external id, no
// cross-references) syncs: a mapped field it lacks is dropped from the
// reads, with a warning and the list the check prints, and the rest is
// read.
func TestOrgWithoutPorticoFieldsPulls(t *testing.T) {
	t.Parallel()
	sim, c, _ := onSimWith(t, fakesource.Options{Seed: 5, Records: 300, SalesforceWithoutPorticoFields: true},
		map[string][]string{"Account": {"Id", "SystemModstamp", "Name", "QuickBooks_Customer_Id__c", "Square_Customer_Id__c", "Owner.Email"}}, nil)
	ctx := context.Background()
	for _, o := range objectOrder {
		p, err := c.Pull(ctx, connectors.PullRequest{Object: o, Limit: 200})
		require.NoError(t, err, o)
		require.NotEmpty(t, p.Records, o)
	}
	p, err := c.Pull(ctx, connectors.PullRequest{Object: "Account", Limit: 200})
	require.NoError(t, err)
	require.NotEmpty(t, gjson.GetBytes(p.Records[0].Raw, "Name").String())
	require.NotEmpty(t, gjson.GetBytes(p.Records[0].Raw, "Owner.Email").String())
	require.Equal(t, []string{"QuickBooks_Customer_Id__c", "Square_Customer_Id__c"}, c.Missing("Account"))
	require.Equal(t, 1, sim.Stats().CallCount(fakesource.Salesforce, "GET sobjects/{Obj}/describe", http.StatusOK), "the describe is read once")
	id := p.Records[0].ID
	rec, err := c.Get(ctx, "Account", id)
	require.NoError(t, err)
	require.Equal(t, id, rec.ID)
}

// Without the external-id field a keyed create falls back to the marker
// strategy: a create whose answer was lost and is sent again finds the
// record its first attempt made (invariant 2: no action applied twice);
// another key creates another record.
func TestMarkerCreateAppliesOnce(t *testing.T) {
	t.Parallel()
	sim, c, lose := onSimWith(t, fakesource.Options{Seed: 5, Records: 300, SalesforceWithoutPorticoFields: true}, nil, nil)
	ctx := context.Background()
	acct, err := sim.SeedID(fakesource.Salesforce, "Account", 0)
	require.NoError(t, err)
	fields := func() map[string]any {
		return map[string]any{"Subject": "Printer jam", "Description": "It jams.", "AccountId": acct}
	}
	before := sim.Stats().Records[fakesource.Salesforce]["Case"]
	lose.armed.Store(true)
	_, err = c.Write(ctx, connectors.Write{Op: connectors.OpCreate, Object: "Case", Fields: fields(), IdempotencyKey: "act-1"})
	require.Error(t, err, "the answer was lost")
	require.False(t, lose.armed.Load())
	require.Equal(t, before+1, sim.Stats().Records[fakesource.Salesforce]["Case"], "the first attempt created the case")

	res, err := c.Write(ctx, connectors.Write{Op: connectors.OpCreate, Object: "Case", Fields: fields(), IdempotencyKey: "act-1"})
	require.NoError(t, err)
	require.False(t, res.Created, "the retry found the first attempt's record")
	require.Equal(t, before+1, sim.Stats().Records[fakesource.Salesforce]["Case"], "applied once")
	stored, err := sim.Record(fakesource.Salesforce, "Case", res.ID)
	require.NoError(t, err)
	require.Equal(t, "It jams.\n\n[portico:act-1]", stored["Description"])

	res2, err := c.Write(ctx, connectors.Write{Op: connectors.OpCreate, Object: "Case", Fields: fields(), IdempotencyKey: "act-2"})
	require.NoError(t, err)
	require.True(t, res2.Created)
	require.NotEqual(t, res.ID, res2.ID)
	require.Equal(t, before+2, sim.Stats().Records[fakesource.Salesforce]["Case"])

	// An object with no marker field refuses a keyed create.
	_, err = c.Write(ctx, connectors.Write{Op: connectors.OpCreate, Object: "Quote", Fields: map[string]any{"Name": "Q"}, IdempotencyKey: "act-3"})
	require.ErrorIs(t, err, connectors.ErrPermanent)
	require.Contains(t, err.Error(), "connectors check")
}

func TestSettingsAndPathsAreChecked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fields   map[string][]string
		settings map[string]string
		want     string
	}{
		{map[string][]string{"Case": {"Subject, (SELECT Id FROM Cases)"}}, nil, "is not a Salesforce field"},
		{nil, map[string]string{"external_id_fld": "X__c"}, "settings.external_id_fld"},
		{nil, map[string]string{"external_id_field": "X__c'"}, "settings.external_id_field"},
		{nil, map[string]string{"marker_fields": "Case=Description"}, "settings.marker_fields"},
		{nil, map[string]string{"marker_fields": "Opportunity:Description"}, "settings.marker_fields"},
	} {
		_, err := NewWithOptions(connectors.Deps{Connection: connectors.Connection{Name: "crm", BaseURL: "http://x.invalid",
			Fields: tc.fields, Settings: tc.settings}, HTTP: http.DefaultClient}, Options{})
		require.ErrorIs(t, err, connectors.ErrInvalid)
		require.True(t, strings.Contains(err.Error(), tc.want), err.Error())
	}
}
