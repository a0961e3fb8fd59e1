// Runs the vendors' own client libraries (jsforce, node-quickbooks,
// square) against the simulators for the calls the connectors use and
// the common ones around them. The simulator's address and credentials
// come in PORTICO_SIM (JSON: fakesource.Credentials). Prints one JSON line
// per call: {"client","call","ok","detail"}. Driven by
// internal/fakesource/clientconf (make conformance).
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const jsforce = require("jsforce");
const QuickBooks = require("node-quickbooks");
const { SquareClient, SquareError } = require("square");

const sim = JSON.parse(process.env.PORTICO_SIM);
const report = (client, call, ok, detail = "") =>
  console.log(JSON.stringify({ client, call, ok, detail: String(detail).slice(0, 300) }));
// Square's SDK reads versions and amounts as BigInt.
const json = (v) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x));

async function check(client, call, fn) {
  try {
    const detail = await fn();
    report(client, call, true, detail ?? "");
  } catch (e) {
    report(client, call, false, e && (e.stack || e.message || JSON.stringify(e)));
  }
}

function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function salesforce() {
  const sf = sim.salesforce;
  const c = "jsforce";
  const oauth2 = new jsforce.OAuth2({ loginUrl: sf.base_url, clientId: sf.client_id, clientSecret: sf.client_secret, redirectUri: "http://127.0.0.1/cb" });
  let conn;
  await check(c, "auth: refresh token", async () => {
    const res = await oauth2.refreshToken(sf.refresh_token);
    expect(res.access_token && res.instance_url, "no token");
    conn = new jsforce.Connection({ oauth2, instanceUrl: res.instance_url, accessToken: res.access_token, refreshToken: sf.refresh_token, version: "59.0" });
    return res.instance_url;
  });
  if (!conn) return;
  await check(c, "identity", async () => {
    const id = await conn.identity();
    expect(id.organization_id && id.user_id, "no ids");
    return id.username;
  });
  await check(c, "limits", async () => {
    const l = await conn.limits();
    expect(l.DailyApiRequests.Max > 0, "no DailyApiRequests");
  });
  await check(c, "describeGlobal", async () => {
    const g = await conn.describeGlobal();
    expect(g.sobjects.some((o) => o.name === "Case"), "no Case");
  });
  await check(c, "describe", async () => {
    const d = await conn.sobject("Case").describe();
    expect(d.fields.some((f) => f.name === "Priority" && f.picklistValues.length > 0), "no Priority picklist");
  });
  await check(c, "query and paging (autoFetch)", async () => {
    const res = await conn.query("SELECT Id, Subject, Account.Name FROM Case").run({ autoFetch: true, maxFetch: 100000 });
    expect(res.records.length === res.totalSize, `fetched ${res.records.length} of ${res.totalSize}`);
    return `${res.totalSize} records`;
  });
  await check(c, "queryMore (nextRecordsUrl)", async () => {
    // A batch of 200 (Sforce-Query-Options), so that there is a next page.
    const first = await conn.request({ method: "GET", url: "/services/data/v59.0/query?q=" + encodeURIComponent("SELECT Id FROM Case"),
      headers: { "Sforce-Query-Options": "batchSize=200" } });
    expect(!first.done && first.nextRecordsUrl, "one page only");
    const more = await conn.queryMore(first.nextRecordsUrl);
    expect(more.records.length > 0, "empty second page");
  });
  const account = (await conn.query("SELECT Id FROM Account LIMIT 1")).records[0].Id;
  let caseId;
  await check(c, "create", async () => {
    const r = await conn.sobject("Case").create({ Subject: "From jsforce", AccountId: account });
    expect(r.success && r.id, JSON.stringify(r));
    caseId = r.id;
  });
  await check(c, "retrieve", async () => {
    const r = await conn.sobject("Case").retrieve(caseId);
    expect(r.Subject === "From jsforce", JSON.stringify(r));
  });
  await check(c, "update", async () => {
    const r = await conn.sobject("Case").update({ Id: caseId, Subject: "Renamed by jsforce" });
    expect(r.success, JSON.stringify(r));
  });
  await check(c, "upsert by external id", async () => {
    const r = await conn.sobject("Case").upsert({ Subject: "Upserted", Portico_Action_Id__c: "jsforce-1" }, "Portico_Action_Id__c");
    expect(r.success, JSON.stringify(r));
    const again = await conn.sobject("Case").upsert({ Subject: "Upserted again", Portico_Action_Id__c: "jsforce-1" }, "Portico_Action_Id__c");
    expect(again.success, JSON.stringify(again));
  });
  let many;
  await check(c, "create several (sObject Collections)", async () => {
    many = await conn.sobject("Case").create([{ Subject: "Batch 1" }, { Subject: "Batch 2" }], { allOrNone: false });
    expect(many.length === 2 && many.every((r) => r.success), JSON.stringify(many));
  });
  await check(c, "delete several (sObject Collections)", async () => {
    const r = await conn.sobject("Case").destroy(many.map((m) => m.id));
    expect(r.every((x) => x.success), JSON.stringify(r));
  });
  await check(c, "delete", async () => {
    const r = await conn.sobject("Case").destroy(caseId);
    expect(r.success, JSON.stringify(r));
  });
  const end = new Date(Date.now() + 60_000);
  const start = new Date(Date.now() - 29 * 24 * 3600_000);
  await check(c, "changes: updated", async () => {
    const r = await conn.sobject("Case").updated(start.toISOString(), end.toISOString());
    expect(Array.isArray(r.ids), JSON.stringify(r));
  });
  await check(c, "changes: deleted", async () => {
    const r = await conn.sobject("Case").deleted(start.toISOString(), end.toISOString());
    expect(Array.isArray(r.deletedRecords) && r.deletedRecords.some((d) => d.id === caseId), JSON.stringify(r).slice(0, 200));
  });
  await check(c, "upload (ContentVersion)", async () => {
    const r = await conn.sobject("ContentVersion").create({
      Title: "note", PathOnClient: "note.txt", VersionData: Buffer.from("hello").toString("base64"), FirstPublishLocationId: account,
    });
    expect(r.success, JSON.stringify(r));
  });
  await check(c, "error: not found", async () => {
    try {
      await conn.sobject("Case").retrieve("500000000000000AAA");
    } catch (e) {
      expect(e.errorCode === "NOT_FOUND", `errorCode ${e.errorCode}: ${e.message}`);
      return e.errorCode;
    }
    throw new Error("no error");
  });
  await check(c, "error: invalid field", async () => {
    try {
      await conn.query("SELECT Nope__c FROM Case");
    } catch (e) {
      expect(e.errorCode === "INVALID_FIELD", `errorCode ${e.errorCode}: ${e.message}`);
      return e.errorCode;
    }
    throw new Error("no error");
  });
  await check(c, "error: unknown route", async () => {
    try {
      await conn.request("/services/data/v59.0/no-such-thing");
    } catch (e) {
      expect(e.errorCode === "NOT_FOUND", `errorCode ${e.errorCode}: ${e.message}`);
      return e.errorCode;
    }
    throw new Error("no error");
  });
}

async function square() {
  const sq = sim.inventory;
  const c = "square";
  const client = new SquareClient({ token: sq.access_token, environment: sq.base_url });
  let locations = [];
  await check(c, "locations.list", async () => {
    const r = await client.locations.list();
    locations = r.locations.map((l) => l.id);
    expect(locations.length > 0, "no locations");
  });
  let variation;
  await check(c, "catalog.search (paged)", async () => {
    let n = 0;
    let cursor;
    do {
      const r = await client.catalog.search({ objectTypes: ["ITEM_VARIATION"], limit: 100, cursor });
      n += (r.objects ?? []).length;
      variation ??= r.objects?.[0];
      cursor = r.cursor;
    } while (cursor);
    expect(n > 0, "no objects");
    return `${n} objects`;
  });
  await check(c, "catalog.search with exact_query", async () => {
    const sku = variation.itemVariationData.sku;
    const r = await client.catalog.search({ objectTypes: ["ITEM_VARIATION"], query: { exactQuery: { attributeName: "sku", attributeValue: sku } } });
    expect(r.objects?.length === 1, `${r.objects?.length} objects`);
  });
  await check(c, "catalog.object.get", async () => {
    const r = await client.catalog.object.get({ objectId: variation.id });
    expect(r.object?.id === variation.id, json(r).slice(0, 200));
  });
  await check(c, "catalog.object.upsert", async () => {
    const r = await client.catalog.object.upsert({
      idempotencyKey: "conformance-" + Date.now(),
      object: { type: "ITEM", id: "#new", itemData: { name: "Conformance item" } },
    });
    expect(r.catalogObject?.id, json(r).slice(0, 200));
  });
  await check(c, "inventory.batchGetCounts", async () => {
    const page = await client.inventory.batchGetCounts({ locationIds: locations, catalogObjectIds: [variation.id] });
    let n = 0;
    for await (const _ of page) n++;
    expect(n >= 0, "");
    return `${n} counts`;
  });
  let order;
  await check(c, "orders.search (default order, newest first)", async () => {
    const r = await client.orders.search({ locationIds: locations, limit: 50 });
    const orders = r.orders ?? [];
    expect(orders.length > 1, "no orders");
    for (let i = 1; i < orders.length; i++) expect(orders[i - 1].createdAt >= orders[i].createdAt, "not newest first");
    order = orders[0];
  });
  await check(c, "orders.search returnEntries", async () => {
    const r = await client.orders.search({ locationIds: locations, limit: 5, returnEntries: true });
    expect(r.orderEntries?.length > 0 && !r.orders, json(r).slice(0, 200));
  });
  await check(c, "orders.get", async () => {
    const r = await client.orders.get({ orderId: order.id });
    expect(r.order?.id === order.id, "");
  });
  await check(c, "error: not found", async () => {
    try {
      await client.orders.get({ orderId: "NOPE" });
    } catch (e) {
      expect(e instanceof SquareError && e.statusCode === 404 && e.errors?.[0]?.code === "NOT_FOUND", `${e.statusCode} ${JSON.stringify(e.errors)}`);
      return "NOT_FOUND";
    }
    throw new Error("no error");
  });
}

async function quickbooks() {
  const qb = sim.accounting;
  const c = "node-quickbooks";
  QuickBooks.V3_ENDPOINT_BASE_URL = qb.base_url + "/v3/company/";
  QuickBooks.TOKEN_URL = qb.token_url;
  const q = new QuickBooks(qb.client_id, qb.client_secret, "", false, qb.realm, true, false, null, "2.0", qb.refresh_token);
  const p = (fn, ...args) => new Promise((resolve, reject) => fn.call(q, ...args, (err, res) => (err ? reject(err) : resolve(res))));
  await check(c, "auth: refresh token", async () => {
    const r = await p(q.refreshAccessToken);
    expect(q.token, JSON.stringify(r).slice(0, 200));
  });
  let customer;
  await check(c, "query (findCustomers, paged)", async () => {
    const r = await p(q.findCustomers, [{ field: "fetchAll", value: true }]);
    const list = r.QueryResponse.Customer;
    expect(list.length > 0, "none");
    customer = list[0];
    return `${list.length} customers`;
  });
  await check(c, "getCustomer", async () => {
    const r = await p(q.getCustomer, customer.Id);
    expect(r.Id === customer.Id, "");
  });
  let created;
  await check(c, "createCustomer", async () => {
    created = await p(q.createCustomer, { DisplayName: "Conformance " + Date.now() });
    expect(created.Id, JSON.stringify(created).slice(0, 200));
  });
  await check(c, "updateCustomer (sparse)", async () => {
    const r = await p(q.updateCustomer, { Id: created.Id, SyncToken: created.SyncToken, sparse: true, CompanyName: "Conformance Co" });
    expect(r.SyncToken !== created.SyncToken, "");
  });
  await check(c, "changeDataCapture", async () => {
    const r = await p(q.changeDataCapture, ["Customer", "Invoice"], new Date(Date.now() - 24 * 3600_000).toISOString());
    expect(r.CDCResponse, JSON.stringify(r).slice(0, 200));
  });
  await check(c, "delete (invoice)", async () => {
    const inv = (await p(q.findInvoices, [{ field: "limit", value: 1 }])).QueryResponse.Invoice[0];
    const r = await p(q.deleteInvoice, { Id: inv.Id, SyncToken: inv.SyncToken });
    expect(r.Invoice?.status === "Deleted", JSON.stringify(r).slice(0, 200));
  });
  await check(c, "upload (attachable)", async () => {
    const inv = (await p(q.findInvoices, [{ field: "limit", value: 1 }])).QueryResponse.Invoice[0];
    const { Readable } = await import("node:stream");
    const r = await p(q.upload, "receipt.txt", "text/plain", Readable.from([Buffer.from("hello")]), "Invoice", inv.Id);
    expect(r && (r.Id || r.AttachableResponse), JSON.stringify(r).slice(0, 200));
  });
  await check(c, "error: not found", async () => {
    try {
      await p(q.getCustomer, "99999999");
    } catch (e) {
      const f = e.Fault || e.fault || e?.response?.data?.Fault || e;
      return JSON.stringify(f).slice(0, 120);
    }
    throw new Error("no error");
  });
}

const only = process.argv[2];
if (!only || only === "salesforce") await salesforce();
if (!only || only === "inventory") await square();
if (!only || only === "accounting") await quickbooks();
