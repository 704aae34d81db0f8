// Module Kubernetes.
