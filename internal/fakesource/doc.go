// Package fakesource simulates Portico's three source systems on one http.Handler: a
// Salesforce-style CRM, a QuickBooks-style accounting system and a Square-style inventory
// system, each at its real paths and in its real wire formats (checked against the vendor
// payloads in testdata), seeded with deterministic, linked data at any volume, and able to
// inject the faults real systems have.
//
// It owns the simulated data, the simulated OAuth servers and the /_sim/ control API. It
// must not import Portico's own packages: it stands in for systems Portico does not control.
//
// # Using it
//
// In Go tests:
//
//	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 1, Records: 2000, Now: clock.Now})
//	creds := sim.Credentials(srv.URL) // BaseURL, TokenURL, ClientID, ClientSecret, RefreshToken, AccessToken, Realm
//	id, _ := sim.SeedID(fakesource.Salesforce, "Case", 0)
//	sim.StaffEdit(fakesource.Salesforce, "Case", id, map[string]any{"Status": "Escalated"})
//	sim.CreateRecord(fakesource.Accounting, "Customer", map[string]any{"DisplayName": "X"}, fakesource.WithModstamp(t0))
//	sim.DeleteRecord(fakesource.Inventory, "Order", orderID)
//	sim.SetFaults(fakesource.Salesforce, fakesource.Faults{RateLimitRate: 1, RetryAfterSeconds: 2})
//	st := sim.Stats() // st.CallCount("salesforce", "query", 429), st.Duplicates, st.Records["accounting"]["Invoice"]
//
// Standalone: go run ./cmd/fakesource --records 100000 (see its --help); it prints the URL
// and the credentials. The data is generated lazily from (Seed, index), so any volume up to
// 1,000,000 records is ready at once; a record costs memory only once it is changed.
//
// All three systems share one listener. Every system's base URL is the server's URL.
//
// With Options.StateDir (--state-dir) the world survives a restart: every change is
// journaled there (StateDir/journal.jsonl, one line per change, written before the API
// answers, so a kill -9 loses nothing a client was told) and replayed by New over the seed:
// records with their versions and stamps, deletions, tokens issued, idempotent answers.
// /_sim/reset empties it. Stats, faults and query cursors are not kept.
//
// # Objects
//
// Object names are the vendors' (case-insensitive in the helpers and /_sim/ paths):
//
//   - salesforce: Account, Contact, Case, CaseComment, Knowledge__kav, ContentVersion, Quote,
//     QuoteLineItem. Ids are 18-character with the real key prefixes (001, 003, 500, 00a, ka0,
//     068, 0Q0, 0QL). A quote's Subtotal, Discount (an amount) and GrandTotal are its lines'
//     sums; quotes and lines carry CurrencyIsoCode (a multi-currency org: USD, EUR, GBP).
//     There is no Product2: a line's Description names its product.
//     Account.QuickBooks_Customer_Id__c and Account.Square_Customer_Id__c hold the linked
//     customers' ids. Portico_Action_Id__c is an external-id field on every object
//     (deviation: real orgs cannot add custom fields to CaseComment). Options'
//     SalesforceWithoutPorticoFields removes those three, as in an org where no admin added
//     them; SalesforceCustomFields adds custom fields (Region__c) per object, which
//     writes, staff edits, queries (Rel.Field paths come back nested, as Salesforce
//     returns them) and describe all know: text, or another type that
//     SalesforceCustomFieldTypes names (textarea, double, currency, percent, boolean, date,
//     datetime). Seeded records hold null in them, as on the day an admin adds a field, or
//     a value of the field's type with SalesforceCustomFieldsFilled.
//   - accounting: Customer, Invoice, Payment, CreditMemo, Attachable. Customer i is account
//     i's customer; its Notes say "Salesforce Account <id>"; sub-customers have ParentRef
//     and Job=true. Payments link to invoices (Line[].LinkedTxn); paid invoices have Balance 0.
//   - inventory: Location (3), Customer (reference_id = the Salesforce Account id), Order
//     (customer_id, line_items, one SHIPMENT fulfillment with shipment_details), Item,
//     ItemVariation (catalog), InventoryCount (one per variation and location; its /_sim/
//     id is "<variation id>:<location id>").
//
// Options.Records is split per account: 2 contacts, 2 cases, 2 case comments, 0.5 files,
// 0.5 quotes, 1 quote line (2 per quote); 1 QuickBooks customer, 2 invoices, 1 payment, 0.2 credit memos, 0.2
// attachments; 1 Square customer, 2 orders; and per 20 accounts 1 article and 1 catalog
// item with 2 variations and 6 inventory counts. That is one account per ~17 records;
// rounding leftovers go to CaseComment, so the objects add up to Records exactly
// (Locations aside; from about 40 records up, smaller worlds still get one of everything). Payments created through the API settle the invoices they link to.
//
// About 10% of accounts have a parent. Seed modstamps lie between 2025-01-01 and
// 2025-11-28 UTC (a test clock must be later, or records stamped after "now" stay
// invisible to queries) and come in bursts of 37
// records sharing one second; objects with 5,000+ records also have one burst of 2,500
// records (more than a Salesforce page) on a single stamp. Same Seed and Records, same data.
//
// # Vendor APIs
//
// Salesforce (any API version vNN.N):
//
//	GET  /services/oauth2/authorize      consent (web server flow): redirects to redirect_uri with code and state at once;
//	                                     code_challenge_method S256 (PKCE). QuickBooks' is GET /connect/oauth2 (adds
//	                                     realmId), Square's GET /oauth2/authorize (see consent.go)
//	POST /services/oauth2/token          grant_type client_credentials | refresh_token | authorization_code (once, 10 minutes,
//	                                     same redirect_uri, PKCE verifier) | urn:ietf:params:oauth:grant-type:jwt-bearer
//	                                     (JWT: iss = client id, sub set, exp in the future; the signature is not checked)
//	GET  /services/data/                 versions
//	GET  /id/{org}/{user}                the identity URL the token answer names as "id" (bearer)
//	POST|PATCH|DELETE /services/data/vNN.N/composite/sobjects, GET .../composite/sobjects/{Obj}?ids=&fields=
//	                                     sObject Collections (up to 200 records; allOrNone=true answers 400; sfcomposite.go)
//	GET  /services/data/vNN.N/limits     {"DailyApiRequests":{"Max","Remaining"}}
//	GET  /services/data/vNN.N/sobjects/  describeGlobal; /sobjects/{Obj}/describe: fields, types, picklists
//	GET  /services/data/vNN.N/query?q=   and /queryAll?q=; paging via nextRecordsUrl (/query/01g...-N), 2000 per page
//	                                     or Sforce-Query-Options: batchSize=N (1..2000; real Salesforce's minimum is 200)
//	GET  /services/data/vNN.N/sobjects/{Obj}/updated/?start=&end=  and /deleted/ (start within 30 days of now)
//	GET|PATCH|DELETE /services/data/vNN.N/sobjects/{Obj}/{Id}      PATCH/DELETE honour If-Unmodified-Since (412)
//	POST /services/data/vNN.N/sobjects/{Obj}             ContentVersion takes VersionData (base64): only its size is kept
//	GET  /services/data/vNN.N/sobjects/ContentVersion/{Id}/VersionData   filler bytes of ContentSize
//	GET|PATCH|DELETE /services/data/vNN.N/sobjects/{Obj}/{ExtField}/{value}   PATCH = upsert: 201 created, else
//	                                     200 {"created":false} (204 before v46.0); replays create nothing
//
// SOQL subset: SELECT f1, Rel.Field, ... | COUNT() FROM Obj [WHERE cond AND cond ...]
// [ORDER BY SystemModstamp|LastModifiedDate [ASC][, Id [ASC]]] [LIMIT n], where cond is
// field op literal (= != <> < <= > >=), field [NOT] IN (...), field LIKE '...'. Datetimes are
// unquoted (2024-01-01T00:00:00Z), as Salesforce requires. No OR, no DESC, no sub-queries.
// Errors are arrays of {message, errorCode, fields}: INVALID_SESSION_ID (401),
// REQUEST_LIMIT_EXCEEDED (403 quota spent; 429 for rate_limit_rate), NOT_FOUND,
// ENTITY_IS_DELETED, INVALID_FIELD, INVALID_TYPE, MALFORMED_QUERY, REQUIRED_FIELD_MISSING,
// DUPLICATE_VALUE, INVALID_FIELD_FOR_INSERT_UPDATE, INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST,
// INVALID_CROSS_REFERENCE_KEY, PRECONDITION_FAILED (412). Every API response carries
// Sforce-Limit-Info: api-usage=N/M (M = daily_quota, or 100000).
//
// QuickBooks (realm = Credentials().Accounting.Realm):
//
// Times are in the company's zone, Pacific time: -08:00 in winter, -07:00 in summer.
//
//	POST /oauth2/v1/tokens/bearer        Basic client auth, grant_type=refresh_token | authorization_code; the refresh token ROTATES on
//	                                     every use and the old one works for Options.RefreshGrace (default 2m)
//	GET|POST /v3/company/{realm}/query?query=SELECT * | COUNT(*) FROM Entity [WHERE ...] [ORDERBY MetaData.LastUpdatedTime|Id]
//	                                     [STARTPOSITION n] [MAXRESULTS n<=1000]; ends on a short page. Inactive
//	                                     customers are hidden unless the query mentions Active (as in QuickBooks).
//	GET  /v3/company/{realm}/cdc?entities=A,B&changedSince=   (within 30 days; deleted as {"Id","status":"Deleted","MetaData"})
//	GET  /v3/company/{realm}/{entity}/{id}
//	POST /v3/company/{realm}/{entity}[?requestid=K][&operation=delete]   create; update with Id + SyncToken
//	                                     ("sparse":true merges, else full update); stale SyncToken -> 5010
//
// A replayed requestid returns the first successful response byte for byte and changes
// nothing (failed attempts are not remembered, so a retry after a 5xx applies; Square's
// idempotency keys behave the same). Faults use
// {"Fault":{"Error":[{"Message","Detail","code","element"}],"type"},"time"}, and 401 uses
// the lower-case {"fault":{"error":[...]}} envelope; throttling is code 3001 as 429 (and
// sometimes 403). Codes: 610 not found, 2020 required, 2500 invalid reference, 4000/4001
// query errors, 5010 stale, 6240 duplicate name, 3100 wrong realm (403).
//
// A route none of the APIs has answers 404 in the vendor's own JSON by its path: Salesforce's
// [{"message","errorCode":"NOT_FOUND"}] under /services/, a QuickBooks fault (3200) under /v3/,
// Square's {"errors":[{"code":"NOT_FOUND"}]} under /v2/ (conformance.go).
//
// Square (bearer: Credentials().Inventory.AccessToken, which never expires; tokens from
// POST /oauth2/token with grant_type refresh_token expire after TokenTTL):
//
//	POST /v2/catalog/search              object_types ITEM/ITEM_VARIATION, begin_time, include_deleted_objects, cursor, limit,
//	                                     query: exact_query, set_query, prefix_query, range_query (on item_data /
//	                                     item_variation_data attributes, ignoring case) and text_query (every keyword
//	                                     begins a word of name, description or sku); other queries answer 400
//	POST /v2/catalog/object              upsert with idempotency_key; "#temp" ids create (id_mappings), else version must match
//	GET  /v2/catalog/object/{id}
//	POST /v2/inventory/counts/batch-retrieve   catalog_object_ids, location_ids, updated_after, states, cursor, limit
//	POST /v2/orders/search               location_ids (1..10), query.filter.{date_time_filter.updated_at, state_filter,
//	                                     customer_filter}, sort {CREATED_AT|UPDATED_AT|CLOSED_AT} {ASC|DESC}, by
//	                                     default CREATED_AT DESC as in Square (UPDATED_AT ASC pages by change stamp,
//	                                     the others by position in a sorted snapshot), return_entries (order_entries:
//	                                     order_id, version, location_id), cursor, limit
//	POST /v2/orders                      create; idempotency_key
//	GET|PUT /v2/orders/{id}              PUT: order.version must equal the current version, else 400 VERSION_MISMATCH;
//	                                     fulfillments and line_items merge by uid; fields_to_clear
//	GET  /v2/customers/{id}, GET /v2/locations
//
// Errors are {"errors":[{"category","code","detail","field"}]}: UNAUTHORIZED /
// ACCESS_TOKEN_EXPIRED (401), RATE_LIMITED (429), NOT_FOUND, VERSION_MISMATCH,
// IDEMPOTENCY_KEY_REUSED (same key, different body), INVALID_CURSOR, ...
//
// Behaviour common to all: modstamps (SystemModstamp, MetaData.LastUpdatedTime,
// updated_at) advance on every change and never go backwards; versions (SyncToken, Square
// version) change on every change. Options.VisibilityLag hides a record from
// query/search/change endpoints, not from GET by id, until that long after its modstamp.
// Access tokens expire after Options.TokenTTL (401). Writes are serialized.
//
// # Control API (never faulted, never authenticated, never counted)
//
//	GET    /_sim/stats                     Stats as JSON (below)
//	GET    /_sim/faults                    {"salesforce":{...Faults},"accounting":{...},"inventory":{...}}
//	POST   /_sim/faults                    {"system":"salesforce", ...Faults}; system "" or absent = all systems.
//	                                       Replaces that system's faults; unknown keys and bad values answer 400.
//	POST   /_sim/reset                     restore the seed; clear stats, faults, tokens issued, idempotency memory
//	GET    /_sim/credentials               Credentials for this server's URL
//	GET    /_sim/{system}/{object}/{id}    the record as the vendor renders it
//	PATCH  /_sim/{system}/{object}/{id}    staff edit: JSON fields merged (top-level keys), version and modstamp
//	                                       advance, the webhook fires; 200 with the record
//	POST   /_sim/{system}/{object}[?modstamp=RFC3339]   staff create; 201 {"id","record"}
//	DELETE /_sim/{system}/{object}/{id}    staff delete; 204
//
// Errors answer {"error": "..."} with 400 (bad input) or 404 (unknown system, object, id).
//
// Faults JSON (all optional; rates are fractions 0..1 drawn per call):
//
//	{"latency_min_ms":20,"latency_max_ms":200,   uniform added latency
//	 "error_rate":0.05,                          500 or 503 with the vendor's error body
//	 "rate_limit_rate":0.1,"retry_after_seconds":2,   429 + Retry-After
//	 "daily_quota":1000,                         calls per UTC day per system, then 403 REQUEST_LIMIT_EXCEEDED
//	                                             (Salesforce) or 429 (others), Retry-After = seconds to midnight
//	 "outage_seconds":60,                        every call 503 for 60 s from now (or "outage_until":"RFC3339")
//	 "reset_rate":0.01,                          hijack the connection and reset it (counted with status 0)
//	 "slow_body_bytes_per_sec":2000,             trickle response bodies
//	 "stale_next_write":true}                    one-shot: the next update of an existing record first gets a
//	                                             concurrent edit, so its version/SyncToken/If-Unmodified-Since is stale
//
// Faults apply to every API call of the system, OAuth token endpoints included (those
// never count against daily_quota).
//
// Stats JSON: {"calls":[{"system","endpoint","status","count"}], "records":{"salesforce":
// {"Case":123,...},...} (live records), "writes":[{"system","key","count"}] (every
// presentation of an idempotency key: Salesforce "Obj/ExtField/value" upserts, QuickBooks
// requestid, Square idempotency_key), "duplicates": sum of count-1, "webhooks":{"sent",
// "delivered","failed"}}. Endpoint names are route patterns such as "GET query",
// "PATCH sobjects/{Obj}/{Field}/{Value}", "POST {entity}", "PUT /v2/orders/{id}".
//
// # Webhooks
//
// With Options.WebhookURL set ("{system}" in it is replaced by the system name), every
// change, API or staff, is POSTed asynchronously, in order, with up to 4 attempts:
//
//   - inventory: a Square event {"merchant_id","type":"order.updated"|"customer.updated"|
//     "catalog.version.updated"|"inventory.count.updated",...,"event_id","created_at","data":
//     {"type","id","object"}} with x-square-hmacsha256-signature =
//     base64(HMAC-SHA256(WebhookSecret, notification URL + body)).
//   - accounting: {"eventNotifications":[{"realmId","dataChangeEvent":{"entities":[{"name",
//     "id","operation","lastUpdated"}]}}]} with intuit-signature =
//     base64(HMAC-SHA256(WebhookSecret, body)).
//   - salesforce: an outbound-message SOAP envelope (text/xml) with OrganizationId
//     (Options.SalesforceOrgID, also Credentials().Salesforce.Realm) and the sObject's fields.
//     Like Salesforce, it carries no signature: it is POSTed to the webhook URL plus
//     "/" + WebhookSecret, as a receiver's secret endpoint path.
//
// WebhookSignature computes both HMAC signatures for receivers' tests.
package fakesource
