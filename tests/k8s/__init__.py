"""Tests against the local Kubernetes cluster (scripts/k8s-cluster.sh, built by `make k8s`)."""
