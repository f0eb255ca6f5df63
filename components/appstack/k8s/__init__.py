"""The platform's components on Kubernetes (pulumi-kubernetes): the same roles and guarantees as
the Docker components beside this package, selected per stack by `appstack:target`."""
