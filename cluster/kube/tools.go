//go:build tools

// The main packages cluster/build compiles from this module, imported here so go.mod and go.sum pin
// everything they need (cluster/kube/binaries lists them).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
