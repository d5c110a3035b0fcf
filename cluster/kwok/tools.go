//go:build tools

// The main package cluster/build compiles from this module (cluster/kwok/binaries), imported so that
// go.mod and go.sum pin what it needs.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
