package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/mappings"
)

func readShipped(name string) (string, error) {
	b, err := fs.ReadFile(mappings.FS(), name)
	return string(b), err
}

func writeFileIn(t *testing.T, dir, name, body string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
}
