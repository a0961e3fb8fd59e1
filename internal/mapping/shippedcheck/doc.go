// Package shippedcheck holds no code: its test runs the shipped mappings
// over what the real connectors pull from the simulated source systems, so
// a drift between a connector, the simulator and a mapping fails here
// without making the mapping engine's own tests depend on either.
package shippedcheck
