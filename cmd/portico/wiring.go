package main

import (
	"os"

	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/sources"
	"github.com/porticohq/portico/mappings"
)

// connectorRegistry is the binary's connectors: connectors/builtin holds
// the one list of types.
func connectorRegistry() *sources.Registry {
	return builtin.Registry()
}

// loadMappings compiles the configured mapping files, or the shipped ones.
// A bad file is a configuration error (exit 2) listing every problem with
// file:line:column.
func loadMappings(cfg *config.Config) (*mapping.Set, error) {
	var (
		set *mapping.Set
		err error
	)
	if cfg.Mappings.Dir != "" {
		set, err = mapping.Load(os.DirFS(cfg.Mappings.Dir))
	} else {
		set, err = mapping.Load(mappings.FS())
	}
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return set, nil
}

// appDeps builds what the app needs from the binary's wiring.
func appDeps(cfg *config.Config) (app.Deps, error) {
	set, err := loadMappings(cfg)
	if err != nil {
		return app.Deps{}, err
	}
	return app.Deps{Connectors: connectorRegistry(), Mappings: set}, nil
}
