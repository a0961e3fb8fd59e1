package salesforce

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/fakesource"
)

// A real org's describe (restforce's recording) parses into the schema
// the mapping check reads: labels, types, what a create must set, the
// active picklist values, references and relationships.
func TestRecordedDescribeParses(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/sobject_describe_success_response.json")
	require.NoError(t, err)
	var d describeResult
	require.NoError(t, json.Unmarshal(b, &d))
	s := d.schema("Whizbang")
	require.Equal(t, "Whizbang", s.Name)
	require.Len(t, s.Fields, 30)
	id, ok := s.Field("Id", false)
	require.True(t, ok)
	require.Equal(t, connectors.FieldSchema{Name: "Id", Label: "Record ID", Type: "id", Kind: connectors.KindID, Length: 18, ReferenceTo: []string{}}, id)
	owner, ok := s.ByRelationship("Owner")
	require.True(t, ok)
	require.Equal(t, "OwnerId", owner.Name)
	require.Equal(t, []string{"Group", "User"}, owner.ReferenceTo, "polymorphic")
	require.False(t, owner.Required, "defaulted on create")
	kinds := map[connectors.FieldKind]int{}
	for _, f := range s.Fields {
		kinds[f.Kind]++
		require.NotEmpty(t, f.Label, f.Name)
	}
	for _, k := range []connectors.FieldKind{connectors.KindID, connectors.KindString, connectors.KindText, connectors.KindBool,
		connectors.KindNumber, connectors.KindDate, connectors.KindDateTime} {
		require.Positive(t, kinds[k], k)
	}
	pick, ok := s.Field("Picklist_Field", true)
	require.True(t, ok)
	require.Equal(t, "picklist", pick.Type)
	require.NotEmpty(t, pick.Picklist)

	// describeGlobal's recording lists sObjects by name.
	b, err = os.ReadFile("testdata/describe_sobjects_success_response.json")
	require.NoError(t, err)
	var global struct {
		SObjects []struct {
			Name string `json:"name"`
		} `json:"sobjects"`
	}
	require.NoError(t, json.Unmarshal(b, &global))
	require.NotEmpty(t, global.SObjects)
}

// Describe answers the simulated org's own describe, custom fields and
// all; an sObject the org lacks is refused with the org's error.
func TestDescribeOnSim(t *testing.T) {
	t.Parallel()
	_, c, _ := onSimWith(t, fakesource.Options{Seed: 5, Records: 20, SalesforceCustomFields: map[string][]string{"Case": {"Region__c"}}}, nil, nil)
	s, err := c.Describe(context.Background(), "Case")
	require.NoError(t, err)
	require.Equal(t, "describe", s.From)
	region, ok := s.Field("Region__c", false)
	require.True(t, ok)
	require.Equal(t, "Region", region.Label)
	prio, _ := s.Field("Priority", false)
	require.Equal(t, []string{"Low", "Medium", "High"}, prio.Picklist)
	subject, _ := s.Field("Subject", false)
	require.True(t, subject.Required)
	number, _ := s.Field("CaseNumber", false)
	require.False(t, number.Createable)
	acct, ok := s.ByRelationship("Account")
	require.True(t, ok)
	require.Equal(t, []string{"Account"}, acct.ReferenceTo)
	_, err = c.Describe(context.Background(), "Kase")
	require.ErrorIs(t, err, connectors.ErrNotFound)
}
