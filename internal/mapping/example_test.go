package mapping_test

import (
	"errors"
	"fmt"

	"github.com/porticohq/portico/internal/mapping"
)

// caseMapping is a small Case mapping an integrator starts from.
const caseMapping = `version: 1
connection: salesforce
objects:
  case:
    source: {object: Case, key: Id, modified: LastModifiedDate}
    owner: {account: AccountId, contact: ContactId, hierarchy: true}
    freshness: 60s
    roles: [account_admin, member]
    fields:
      id: Id
      number: CaseNumber
      subject: Subject
      status: {source: Status, values: {New: new, Closed: closed}}
%s    status:
      new: {label: Received, next_step: We are reviewing your request.}
      closed: {label: Closed, next_step: Nothing more to do.}
`

// Adding a field: portal fields come from the canonical model (here the
// case's priority), or are custom fields whose names start with x_ and
// declare their type. A transform is a CEL expression over value (the
// source value) and record (the whole source record).
func Example_addField() {
	added := `      priority:
        source: Priority
        values: {Low: low, Medium: medium, High: high}
        default: medium
      x_sla_breached:
        type: bool
        source: SLA_Exit_Date__c
        transform: value != null && value < record.LastModifiedDate
        roles: [account_admin]
`
	set, err := mapping.Parse("salesforce.yaml", fmt.Appendf(nil, caseMapping, added))
	if err != nil {
		fmt.Println(err)
		return
	}
	o, _ := set.Object("case")
	m, err := o.ToPortal([]byte(`{"Id":"500A","CaseNumber":"00001026","Subject":"Printer jams",
		"Status":"New","Priority":"High","AccountId":"001A","ContactId":"003C",
		"SLA_Exit_Date__c":"2024-05-01T10:00:00.000+0000","LastModifiedDate":"2024-05-02T08:00:00.000+0000"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("priority:", m.Fields["priority"])
	fmt.Println("x_sla_breached:", m.Fields["x_sla_breached"])
	fmt.Println("status:", m.StatusLabel, "-", m.NextStep)
	fmt.Println("a member sees x_sla_breached:", o.VisibleFields([]string{"member"}, m.Fields)["x_sla_breached"] != nil)
	// Output:
	// priority: high
	// x_sla_breached: true
	// status: Received - We are reviewing your request.
	// a member sees x_sla_breached: false
}

// A mistake is reported with its file, line and column, and nothing loads.
func Example_mistake() {
	added := `      x_sla_breached: {source: SLA_Exit_Date__c, type: boolean}
`
	_, err := mapping.Parse("salesforce.yaml", fmt.Appendf(nil, caseMapping, added))
	fmt.Println(err)
	// Output:
	// salesforce.yaml:14:56: unknown field type "boolean" (known: id, string, text, email, enum, int, number, bool, date, datetime, binary, list)
}

// Letting customers write a field: give it a direction and validation.
// ToSource validates portal input and returns vendor fields; writes.set
// adds the constant and actor fields the source needs.
func ExampleObject_ToSource() {
	added := `      x_callback_phone:
        type: string
        source: Callback_Phone__c
        direction: [read, create]
        validate: {required: true, max_length: 20, pattern: '^[0-9+ ]+$'}
    writes:
      create:
        set: {Origin: "'Web'", AccountId: actor.account_id}
`
	set, err := mapping.Parse("salesforce.yaml", fmt.Appendf(nil, caseMapping, added))
	if err != nil {
		fmt.Println(err)
		return
	}
	o, _ := set.Object("case")
	src, err := o.ToSource(mapping.OpCreate, map[string]any{"x_callback_phone": "+44 20 7946 0000"}, mapping.Actor{AccountID: "001A"})
	fmt.Println(src, err)

	_, err = o.ToSource(mapping.OpCreate, map[string]any{"x_callback_phone": "call me"}, mapping.Actor{AccountID: "001A"})
	var ve *mapping.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Fields[0].Path, ve.Fields[0].Code)
	}
	// Output:
	// map[AccountId:001A Callback_Phone__c:+44 20 7946 0000 Origin:Web] <nil>
	// x_callback_phone pattern
}
