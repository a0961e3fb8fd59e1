package migrate

import "github.com/porticohq/portico/internal/store"

func isUndefinedTable(err error) bool { return store.SQLState(err) == "42P01" }
