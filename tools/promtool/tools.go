//go:build tools

// The command this module builds; importing it keeps `go mod tidy` from
// dropping its dependencies.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
