// Package authtest holds what tests that log users in share: argon2id
// costs that keep them quick, and a password the password policy
// accepts. Tests only; production uses auth.DefaultHashParams.
package authtest

import "github.com/porticohq/portico/internal/auth"

// FastHash keeps password hashing in tests to a millisecond.
var FastHash = auth.HashParams{Memory: 1024, Time: 1, Threads: 1}

// Password passes the password policy (length, not a common password).
const Password = "violet-harbour-lantern-42"
