// Package migrations embeds Portico's numbered SQL migrations
// (NNN_name.up.sql / NNN_name.down.sql). River's own tables come from
// rivermigrate; internal/migrate applies both.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
