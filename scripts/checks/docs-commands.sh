#!/usr/bin/env bash
# Runs every command README.md and docs/*.md give, as written, where this machine can (scripts/checks/docs-commands.py
# says how): the emqx-autorebalancer commands with the built binary, Prometheus queries against a real Prometheus
# started here on loopback, the commands that need a cluster (`run --once --kubeconfig …`, `kubectl get …`) against
# `emqx-autorebalancer demo --serve` started in the background; every command it cannot run is listed with the reason.
# Usage: scripts/checks/docs-commands.sh     (after `swift build`; scripts/test runs it)
# Environment: DOCS_COMMANDS_KEEP=1 keeps the scratch folder (its path is printed on failure).
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build --product emqx-autorebalancer >/dev/null 2>&1 || swift build --product emqx-autorebalancer
prometheus=${PROMETHEUS_BIN:-$(command -v prometheus || true)}
promtool=${PROMTOOL:-$(command -v promtool || true)}
if [ -z "$prometheus" ] || [ -z "$promtool" ]; then
    echo "FAIL  prometheus and promtool are needed (scripts/test installs Debian's prometheus package)"
    exit 1
fi
for tool in jq curl; do
    command -v "$tool" >/dev/null 2>&1 || { echo "FAIL  $tool is needed (scripts/test installs it)"; exit 1; }
done
exec python3 scripts/checks/docs-commands.py .build/debug/emqx-autorebalancer "$prometheus" "$promtool"
