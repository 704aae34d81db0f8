#!/usr/bin/env bash
# Copies the shipped policy rules/default.yaml into deploy/base/rules/ and deploy/overlays/sidecar/rules/, where
# kustomize's configMapGenerator can read it (kustomize refuses files outside the kustomization's folder).
# scripts/checks/deploy.sh fails while they differ.
set -euo pipefail
cd "$(dirname "$0")/.."
for copy in deploy/base/rules/default.yaml deploy/overlays/sidecar/rules/default.yaml; do
    cp rules/default.yaml "$copy"
    echo "$copy updated from rules/default.yaml"
done
