// Package builtin registers the connectors Portico ships with. It is the
// one list of connection types: cmd/portico builds its registry here,
// configuration validation asks that registry for the types, and tests
// that need the real connectors use Registry too. Adding a connector is
// one line in Register.
package builtin

import (
	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/accounting"
	"github.com/porticohq/portico/connectors/inventory"
	"github.com/porticohq/portico/connectors/salesforce"
)

// Register adds every shipped connector to reg.
func Register(reg *connectors.Registry[connectors.Deps]) {
	reg.MustRegister("salesforce", salesforce.New)
	reg.MustRegister("accounting", accounting.New)
	reg.MustRegister("inventory", inventory.New)
}

// Registry returns a new registry holding every shipped connector.
func Registry() *connectors.Registry[connectors.Deps] {
	reg := connectors.NewRegistry[connectors.Deps]()
	Register(reg)
	return reg
}
