#!/usr/bin/env bash
# Validates every shipped policy and runs the policy unit tests under rules/tests through the CLI.
# Usage: scripts/checks/policy-tests.sh   (scripts/test runs it after `swift test`)
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=.build/debug/emqx-autorebalancer
# Up to date after scripts/test's `swift build`; this only rebuilds when run on its own after a change.
swift build --product emqx-autorebalancer >/dev/null 2>&1 || swift build --product emqx-autorebalancer

echo "check: rules/*.yaml rules/examples/*.yaml rules/tests/*.yaml"
"$bin" check rules/*.yaml rules/examples/*.yaml rules/tests/*.yaml

echo "test: rules/tests/*.yaml"
"$bin" test rules/tests/*.yaml
