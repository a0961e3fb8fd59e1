// Package fakesource simulates Portico's three source systems on one http.Handler: a
// Salesforce-style CRM, a QuickBooks-style accounting system and a Square-style inventory
// system, each at its real paths and in its real wire formats, seeded with deterministic,
// linked data at any volume, and able to inject the faults real systems have.
//
// It owns the simulated data and the /_sim/ control API. It must not import Portico's
// own packages: it stands in for systems Portico does not control.
//
// (Full control API and fault documentation follows as the package is completed.)
package fakesource
