#!/usr/bin/env bash
# Copies the shipped policy rules/default.yaml into deploy/base/config/rules/, where kustomize's configMapGenerator can read
# it (kustomize refuses files outside the kustomization's folder). scripts/checks/deploy.sh fails while they differ.
set -euo pipefail
cd "$(dirname "$0")/.."
cp rules/default.yaml deploy/base/config/rules/default.yaml
echo "deploy/base/config/rules/default.yaml updated from rules/default.yaml"
