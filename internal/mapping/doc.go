// Package mapping owns the portal object model and the integrator-written
// field mappings that connect it to source systems. It compiles mapping
// files (YAML with CEL transforms) into per-object programs that convert a
// source record's raw JSON into a portal record, portal input into source
// fields for a write, and emit the JSON Schema of each object's intake
// form.
//
// It performs no I/O beyond reading the mapping files it is given: it does
// not fetch records, resolve owner references against accounts, or store
// anything. The sync writes what it returns to the cache; the write-back
// hands what ToSource returns to a connector.
package mapping
