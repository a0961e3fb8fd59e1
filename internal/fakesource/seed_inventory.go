package fakesource

import (
	"fmt"
	"strings"
	"time"
)

// sqTime formats Square timestamps: 2019-08-23T18:33:53.123Z.
func sqTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func sqMoney(cents int64) map[string]any { return map[string]any{"amount": cents, "currency": "USD"} }

var (
	locationNames = []string{"Main Street Store", "Harbor Warehouse", "Online Fulfilment"}
	orderStates   = []string{"OPEN", "OPEN", "COMPLETED", "COMPLETED", "COMPLETED", "CANCELED"}
)

// sqPrice is catalog variation v's price in cents.
func (w *world) sqPrice(v int) int64 {
	return int64(500 + newRnd(w.seed, tagOf("sq-price"), v).intn(20000))
}

// sqItemName is catalog item it's name.
func sqItemName(it int) string {
	return fmt.Sprintf("%s %d", products[it%len(products)], it/len(products)+1)
}

func (w *world) buildInventory() {
	nA := w.count(Salesforce, "Account")
	nOrd := w.count(Inventory, "Order")
	nVar := w.count(Inventory, "ItemVariation")
	sfAcct, _ := sfIDOf("001")
	locID, locSeq := w.sqIDOf("Location")
	custID, custSeq := w.sqIDOf("Customer")
	itemID, itemSeq := w.sqIDOf("Item")
	varID, varSeq := w.sqIDOf("ItemVariation")
	ordID, ordSeq := w.sqIDOf("Order")

	w.def(Inventory, "Location", locID, locSeq, func(i int, _ *rnd, _ time.Time) map[string]any {
		c := cities[i%len(cities)]
		return map[string]any{
			"name": locationNames[i%len(locationNames)], "business_name": "Portico Coffee Supply",
			"address":  map[string]any{"address_line_1": fmt.Sprintf("%d Market St.", 100+i), "locality": c.city, "administrative_district_level_1": c.state, "postal_code": c.zip, "country": "US"},
			"timezone": "America/Los_Angeles", "capabilities": []any{"CREDIT_CARD_PROCESSING"}, "status": "ACTIVE",
			"merchant_id": "ML7Z3B1ZHAYPS", "country": "US", "language_code": "en-US", "currency": "USD", "type": "PHYSICAL",
		}
	}, nil)

	w.def(Inventory, "Customer", custID, custSeq, func(i int, r *rnd, _ time.Time) map[string]any {
		a := w.account(i)
		return map[string]any{
			"given_name": a.first, "family_name": a.last, "company_name": a.name,
			"email_address": fmt.Sprintf("%s.%s@%s", slug(a.first), slug(a.last), a.domain), "phone_number": a.phone,
			"reference_id": sfAcct(int64(i)), "note": "Synced from Salesforce", "creation_source": "THIRD_PARTY",
			"preferences": map[string]any{"email_unsubscribed": false},
			"address":     map[string]any{"address_line_1": a.street, "locality": a.city, "administrative_district_level_1": a.state, "postal_code": a.zip, "country": "US"},
		}
	}, func(_ int, r *rnd) int64 { return int64(r.intn(3)) }, "given_name")

	price, itemName := w.sqPrice, sqItemName
	varName := func(v int) string { return variants[v%len(variants)] }

	w.def(Inventory, "Item", itemID, itemSeq, func(i int, r *rnd, _ time.Time) map[string]any {
		return map[string]any{
			"type": "ITEM", "present_at_all_locations": true,
			"item_data": map[string]any{
				"name": itemName(i), "description": "Everything a good café needs: " + strings.ToLower(itemName(i)) + ".",
				"product_type": "REGULAR", "skip_modifier_screen": false,
			},
			"_variation_ids": []any{varID(int64(2 * i)), varID(int64(2*i + 1))},
		}
	}, nil, "item_data")

	w.def(Inventory, "ItemVariation", varID, varSeq, func(v int, r *rnd, _ time.Time) map[string]any {
		it := v / 2
		return map[string]any{
			"type": "ITEM_VARIATION", "present_at_all_locations": true,
			"item_variation_data": map[string]any{
				"item_id": itemID(int64(it)), "name": varName(v), "sku": fmt.Sprintf("SKU-%05d-%d", it+1, v%2+1), "ordinal": v%2 + 1,
				"pricing_type": "FIXED_PRICING", "price_money": sqMoney(price(v)), "track_inventory": true, "sellable": true, "stockable": true,
			},
		}
	}, nil, "item_variation_data")

	countID := func(seq int64) string { return varID(seq/numLocations) + ":" + locID(seq%numLocations) }
	countSeq := func(id string) (int64, bool) {
		v, l, ok := strings.Cut(id, ":")
		if !ok {
			return 0, false
		}
		vs, ok1 := varSeq(v)
		ls, ok2 := locSeq(l)
		if !ok1 || !ok2 || ls >= numLocations {
			return 0, false
		}
		return vs*numLocations + ls, true
	}
	w.def(Inventory, "InventoryCount", countID, countSeq, func(i int, r *rnd, _ time.Time) map[string]any {
		return map[string]any{
			"catalog_object_id": varID(int64(i / numLocations)), "catalog_object_type": "ITEM_VARIATION",
			"state": "IN_STOCK", "location_id": locID(int64(i % numLocations)), "quantity": fmt.Sprint(r.intn(250)),
		}
	}, nil, "catalog_object_id", "location_id", "quantity")

	w.def(Inventory, "Order", ordID, ordSeq, func(i int, r *rnd, st time.Time) map[string]any {
		a := parent(i, nOrd, nA)
		info := w.account(a)
		var lines []any
		var total int64
		for k := range 1 + r.intn(3) {
			v := r.intn(max(nVar, 1))
			qty := int64(1 + r.intn(4))
			p := price(v)
			total += p * qty
			lines = append(lines, map[string]any{
				"uid": fmt.Sprintf("li-%d-%d", i, k), "name": itemName(v / 2), "variation_name": varName(v), "quantity": fmt.Sprint(qty),
				"catalog_object_id": varID(int64(v)), "item_type": "ITEM", "base_price_money": sqMoney(p),
				"gross_sales_money": sqMoney(p * qty), "total_tax_money": sqMoney(0), "total_discount_money": sqMoney(0), "total_money": sqMoney(p * qty),
			})
		}
		state := pick(r, orderStates)
		fstate := map[string]string{"OPEN": "RESERVED", "COMPLETED": "COMPLETED", "CANCELED": "CANCELED"}[state]
		ship := map[string]any{
			"recipient": map[string]any{"display_name": info.first + " " + info.last, "email_address": "orders@" + info.domain,
				"address": map[string]any{"address_line_1": info.street, "locality": info.city, "administrative_district_level_1": info.state, "postal_code": info.zip, "country": "US"}},
			"carrier": pick(r, carriers),
		}
		if state != "CANCELED" && (state == "COMPLETED" || r.intn(2) == 0) {
			ship["tracking_number"] = fmt.Sprintf("1Z%06X%010d", r.intn(1<<24), r.intn(1_000_000_000))
			ship["shipped_at"] = sqTime(st.Add(-time.Duration(1+r.intn(48)) * time.Hour))
			ship["tracking_url"] = "https://tracking.example.com/" + fmt.Sprint(i)
		}
		m := map[string]any{
			"location_id": locID(int64(r.intn(numLocations))), "reference_id": fmt.Sprintf("PO-%06d", i+1),
			"source": map[string]any{"name": "Portico Coffee Supply Online"}, "customer_id": custID(int64(a)),
			"line_items":   lines,
			"fulfillments": []any{map[string]any{"uid": fmt.Sprintf("ff-%d", i), "type": "SHIPMENT", "state": fstate, "shipment_details": ship}},
			"state":        state, "total_money": sqMoney(total), "total_tax_money": sqMoney(0), "total_discount_money": sqMoney(0),
			"total_service_charge_money": sqMoney(0),
		}
		if state == "COMPLETED" {
			m["closed_at"] = sqTime(st)
		}
		return m
	}, func(_ int, r *rnd) int64 { return int64(1 + r.intn(4)) }, "location_id")
}
