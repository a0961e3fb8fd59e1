// Package mappings holds the shipped mapping files, one per connector,
// embedded so the binary carries them. The engine that reads them is
// internal/mapping; their documentation is README.md beside them.
package mappings

import (
	"embed"
	"io/fs"
)

//go:embed *.yaml
var files embed.FS

// FS returns the shipped mapping files (*.yaml at its root).
func FS() fs.FS { return files }
