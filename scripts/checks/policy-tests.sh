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

# The JSON Schemas editors use must accept every shipped file (skipped when python3's jsonschema and yaml are absent).
if python3 -c 'import jsonschema, yaml' 2>/dev/null; then
    echo "schema: rules against schema/policy.schema.json and schema/policy-test.schema.json"
    python3 - <<'PY'
import glob, json, sys
import jsonschema, yaml
failed = False
for schema_file, pattern in [("schema/policy.schema.json", ["rules/*.yaml", "rules/examples/*.yaml"]),
                             ("schema/policy-test.schema.json", ["rules/tests/*.yaml"])]:
    validator = jsonschema.Draft7Validator(json.load(open(schema_file)))
    for path in sorted(f for p in pattern for f in glob.glob(p)):
        for error in validator.iter_errors(yaml.safe_load(open(path))):
            failed = True
            print(f"{path}: schema {schema_file}: {'/'.join(map(str, error.absolute_path))}: {error.message}")
sys.exit(1 if failed else 0)
PY
else
    echo "schema: skipped (python3 with jsonschema and yaml not found)"
fi
