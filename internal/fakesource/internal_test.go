package fakesource

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseSOQL(t *testing.T) {
	t.Parallel()
	q, err := parseSOQL("SELECT Id, Name, Account.Name FROM Contact WHERE SystemModstamp >= 2024-01-01T00:00:00Z AND Email LIKE '%@x.com' AND AccountId IN ('001a', '001b') AND IsDeleted = false ORDER BY SystemModstamp ASC, Id LIMIT 50")
	require.NoError(t, err)
	require.Equal(t, []string{"Id", "Name", "Account.Name"}, q.Fields)
	require.Equal(t, "Contact", q.Object)
	require.Equal(t, 50, q.Limit)
	require.Equal(t, "systemmodstamp,id", q.OrderBy)
	require.Len(t, q.Where, 4)
	require.Equal(t, ">=", q.Where[0].Op)
	require.Equal(t, "datetime", q.Where[0].Values[0].Kind)
	require.True(t, q.Where[0].Values[0].T.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)))
	require.Equal(t, "LIKE", q.Where[1].Op)
	require.Equal(t, "IN", q.Where[2].Op)
	require.Len(t, q.Where[2].Values, 2)
	require.Equal(t, "bool", q.Where[3].Values[0].Kind)

	q, err = parseSOQL("select count() from Case where Status != 'Closed'")
	require.NoError(t, err)
	require.True(t, q.Count)
	require.Equal(t, "!=", q.Where[0].Op)

	q, err = parseSOQL("SELECT Id FROM Case WHERE SystemModstamp > 2024-01-01T00:00:00.000+0000 AND Id > '5008d0000000006AAA'")
	require.NoError(t, err)
	require.Equal(t, "string", q.Where[1].Values[0].Kind)

	for _, bad := range []string{
		"", "SELECT FROM Case", "SELECT Id Case", "SELECT Id FROM Case WHERE", "SELECT Id FROM Case WHERE Name = 'x' OR Name = 'y'",
		"SELECT Id FROM Case ORDER BY Name", "SELECT Id FROM Case ORDER BY SystemModstamp DESC", "SELECT Id FROM Case LIMIT x",
		"SELECT Id FROM Case WHERE Name = 'unterminated", "SELECT Id FROM Case trailing",
	} {
		_, err := parseSOQL(bad)
		require.Error(t, err, bad)
	}
}

func TestParseQBQuery(t *testing.T) {
	t.Parallel()
	q, err := parseQBQuery("SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime > '2024-01-01T00:00:00-07:00' ORDERBY MetaData.LastUpdatedTime STARTPOSITION 101 MAXRESULTS 100")
	require.NoError(t, err)
	require.Equal(t, "Invoice", q.entity)
	require.Equal(t, 101, q.start)
	require.Equal(t, 100, q.max)
	require.Equal(t, "metadata.lastupdatedtime", q.orderBy)
	q, err = parseQBQuery("SELECT count(*) FROM Customer WHERE Id IN ('5', '6') AND Active IN ( true, false ) MAXRESULTS 2 STARTPOSITION 3")
	require.NoError(t, err)
	require.True(t, q.count)
	require.True(t, q.activeOK)
	require.Equal(t, 3, q.start)
	for _, bad := range []string{"SELECT * Invoice", "SELECT * FROM Invoice STARTPOSITION 0", "SELECT * FROM Invoice ORDERBY DocNumber", "SELECT * FROM Invoice MAXRESULTS x"} {
		_, err := parseQBQuery(bad)
		require.Error(t, err, bad)
	}
}

func TestIDsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, seq := range []int64{0, 1, 61, 62, 12345, 999_999} {
		id := sfID("500", seq)
		require.Len(t, id, 18)
		got, ok := sfSeq("500", id)
		require.True(t, ok)
		require.Equal(t, seq, got)
		got, ok = sfSeq("500", id[:15])
		require.True(t, ok, "15-character form")
		require.Equal(t, seq, got)
		_, ok = sfSeq("001", id)
		require.False(t, ok, "wrong key prefix")

		sq := sqID(42, seq)
		require.Len(t, sq, 24)
		got, ok = sqSeq(42, sq)
		require.True(t, ok)
		require.Equal(t, seq, got)
		_, ok = sqSeq(43, sq)
		require.False(t, ok, "another object's key")
	}
	require.Less(t, sfID("500", 61), sfID("500", 62), "ids sort like their sequence")
	// Salesforce's documented 15->18 example: 001A0000006Vm9r -> 001A0000006Vm9rIAC
	require.Equal(t, "IAC", string(sfSuffix([]byte("001A0000006Vm9r"))))
}

func TestSeedHasEqualStampBursts(t *testing.T) {
	t.Parallel()
	st := newStore(7, 100_000)
	o := st.object(Salesforce, "CaseComment")
	require.GreaterOrEqual(t, o.def.seedN, bigBurstMinN)
	counts := map[time.Time]int{}
	prev := time.Time{}
	for i := range o.def.seedN {
		s := o.def.stampOf(i)
		require.False(t, s.Before(prev), "stamps never go backwards in seed order")
		prev = s
		counts[s]++
	}
	biggest := 0
	shared := 0
	for _, n := range counts {
		biggest = max(biggest, n)
		if n > 1 {
			shared += n
		}
	}
	require.Greater(t, biggest, sfPageSize, "one burst is larger than a Salesforce page")
	require.Greater(t, shared, o.def.seedN*9/10, "most records share their stamp with others")
}

func TestSeedIsLinkedAndSized(t *testing.T) {
	t.Parallel()
	st := newStore(3, 50_000)
	total := 0
	for k, o := range st.objects {
		if k != objKey(Inventory, "Location") {
			total += o.def.seedN
		}
	}
	require.Equal(t, 50_000, total, "Records is the total across objects")
	acct := st.object(Salesforce, "Account")
	qbc := st.object(Accounting, "Customer")
	sqc := st.object(Inventory, "Customer")
	require.Equal(t, acct.def.seedN, qbc.def.seedN)
	require.Equal(t, acct.def.seedN, sqc.def.seedN)
	parents := 0
	for i := 0; i < acct.def.seedN; i += 97 {
		a := acct.def.gen(i)
		q := qbc.get(a.fields["QuickBooks_Customer_Id__c"].(string))
		require.NotNil(t, q)
		require.Equal(t, a.fields["Name"], q.fields["DisplayName"])
		require.Contains(t, q.fields["Notes"], a.id, "the QuickBooks customer links back")
		s := sqc.get(a.fields["Square_Customer_Id__c"].(string))
		require.NotNil(t, s)
		require.Equal(t, a.id, s.fields["reference_id"], "the Square customer links back")
		if a.fields["ParentId"] != nil {
			parents++
			require.NotNil(t, acct.get(a.fields["ParentId"].(string)))
		}
	}
	require.Positive(t, parents)
	names := map[any]bool{}
	for i := range qbc.def.seedN {
		n := qbc.def.gen(i).fields["DisplayName"]
		require.False(t, names[n], "QuickBooks display names are unique: %v", n)
		names[n] = true
	}
	// every customer-facing record resolves to an existing account
	for _, name := range []string{"Contact", "Case", "Quote"} {
		o := st.object(Salesforce, name)
		for i := 0; i < o.def.seedN; i += 101 {
			require.NotNil(t, acct.get(o.def.gen(i).fields["AccountId"].(string)), name)
		}
	}
	cs := st.object(Salesforce, "Case")
	statuses := map[any]bool{}
	for i := range min(cs.def.seedN, 500) {
		statuses[cs.def.gen(i).fields["Status"]] = true
	}
	require.Len(t, statuses, 5, "cases in all statuses")
	ord := st.object(Inventory, "Order")
	for i := 0; i < ord.def.seedN; i += 211 {
		f := ord.def.gen(i).fields
		require.NotNil(t, sqc.get(f["customer_id"].(string)))
		ff := f["fulfillments"].([]any)[0].(map[string]any)
		require.Equal(t, "SHIPMENT", ff["type"])
	}
}

func TestSeedIsDeterministic(t *testing.T) {
	t.Parallel()
	a, b, c := newStore(5, 20_000), newStore(5, 20_000), newStore(6, 20_000)
	differs := false
	for k, oa := range a.objects {
		ob, oc := b.objects[k], c.objects[k]
		for i := 0; i < oa.def.seedN; i += 37 {
			ra, rb := oa.def.gen(i), ob.def.gen(i)
			require.Equal(t, ra, rb, "%s #%d", k, i)
			if i < oc.def.seedN {
				if rc := oc.def.gen(i); rc.id != ra.id || !mapsEqual(rc.fields, ra.fields) {
					differs = true
				}
			}
		}
	}
	require.True(t, differs, "another seed gives other data")
}

func mapsEqual(a, b map[string]any) bool {
	return len(a) == len(b) && func() bool {
		for k, v := range a {
			if bv, ok := b[k]; !ok || !equalAny(v, bv) {
				return false
			}
		}
		return true
	}()
}

func equalAny(a, b any) bool {
	am, ok1 := a.(map[string]any)
	bm, ok2 := b.(map[string]any)
	if ok1 && ok2 {
		return mapsEqual(am, bm)
	}
	if ok1 || ok2 {
		return false
	}
	al, ok1 := a.([]any)
	bl, ok2 := b.([]any)
	if ok1 && ok2 {
		if len(al) != len(bl) {
			return false
		}
		for i := range al {
			if !equalAny(al[i], bl[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// BenchmarkNew1M builds a 1,000,000-record simulator and walks every record's id and
// modstamp in query order: what a full sync's queries touch before rendering.
func BenchmarkNew1M(b *testing.B) {
	for b.Loop() {
		sim, err := New(Options{Seed: 1, Records: MaxRecords})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, o := range sim.store.objects {
			o.iterate(time.Time{}, -1, func(c cand) bool {
				if o.def.idOf(c.seq) != "" {
					n++
				}
				return true
			})
		}
		if n < MaxRecords {
			b.Fatalf("walked %d records", n)
		}
		b.ReportMetric(float64(n), "records/op")
	}
}

// BenchmarkMaterialize1M renders every one of 1,000,000 seed records in full.
func BenchmarkMaterialize1M(b *testing.B) {
	for b.Loop() {
		sim, err := New(Options{Seed: 1, Records: MaxRecords})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, o := range sim.store.objects {
			for i := range o.def.seedN {
				if o.def.gen(i) != nil {
					n++
				}
			}
		}
		if n < MaxRecords {
			b.Fatalf("generated %d records", n)
		}
		b.ReportMetric(float64(n), "records/op")
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	st := newStore(9, 3000)
	for _, o := range st.objects {
		for i := 0; i < o.def.seedN; i += 17 {
			r := o.def.gen(i)
			for _, v := range []any{r.fields, []any{r.fields, nil, 1.5e-7, 1e21, 123456789.0, -0.25, "<&>\u2028\x01\"\\ é \xff"}} {
				want, err := json.Marshal(v)
				require.NoError(t, err)
				got, err := appendJSON(nil, v)
				require.NoError(t, err)
				require.Equal(t, string(want), string(got))
			}
		}
	}
	got, err := appendJSON(nil, omap{{"b", 1}, {"a", omap{{"z", []string{"x"}}}}})
	require.NoError(t, err)
	require.Equal(t, `{"b":1,"a":{"z":["x"]}}`, string(got))
}

func TestRecordsAddUp(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 40, 100, 401, 1000, 12345, 99999} {
		st := newStore(1, n)
		total := 0
		for k, o := range st.objects {
			if k != objKey(Inventory, "Location") {
				total += o.def.seedN
			}
		}
		require.Equal(t, n, total, "Records=%d", n)
	}
}
