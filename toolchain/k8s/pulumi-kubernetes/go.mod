// The pulumi-kubernetes provider plugin, built by toolchain/build-k8s.sh. The provider module's
// zip lacks the two files main.go embeds (generated at release time), so the build generates them
// into a writable copy of the module at ../provider (relative to a scratch copy of this file).
module appstack/toolchain/k8s/pulumi-kubernetes

go 1.24.7

require github.com/pulumi/pulumi-kubernetes/provider/v4 v4.0.0-20260115033456-f47bc2d6f199

replace github.com/pulumi/pulumi-kubernetes/provider/v4 => ../provider
