#!/usr/bin/env bash
# The HTML charts in a real browser: writes the demo's chart and a week-long backtest's chart with the binary, opens
# both in Debian's headless Chromium through chromium-driver (Selenium's Python client from PyPI), hovers a node line
# and a decision marker, and checks the tooltips against the chart's data (scripts/checks/chart-browser.py).
# scripts/test installs chromium and chromium-driver when missing; this script installs selenium when missing.
# Usage: scripts/checks/chart-browser.sh     (after `swift build`; scripts/test runs it)
# Environment: CHART_BROWSER_KEEP=DIR keeps the pages and the screenshots taken of them in DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=.build/debug/emqx-autorebalancer
swift build --product emqx-autorebalancer >/dev/null 2>&1 || swift build --product emqx-autorebalancer
chromium=$(command -v chromium || true)
chromedriver=$(command -v chromedriver || true)
if [ -z "$chromium" ] || [ -z "$chromedriver" ]; then
    echo "FAIL  chromium and chromedriver are needed (apt-get install chromium chromium-driver; scripts/test does it)"
    exit 1
fi
if ! python3 -c 'import selenium' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check selenium
fi

work=${CHART_BROWSER_KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/emqx-autorebalancer-charts.XXXXXX")}
mkdir -p "$work"
[ -n "${CHART_BROWSER_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

# The demo's chart, as README.md tells a user to write it.
"$bin" demo --speed 30 --plot "$work/demo.html" >"$work/demo.log" 2>&1 || { cat "$work/demo.log"; exit 1; }

# A week of one-minute history: three nodes, a fourth joining empty on the third day and staying empty.
python3 - "$work/connections.json" <<'EOF'
import json, sys
start, step, steps = 1795132800, 60, 7 * 24 * 60
series = []
for node in range(4):
    values = []
    for i in range(steps):
        if node == 3 and i < 3 * 24 * 60:
            continue
        values.append([start + i * step, "0" if node == 3 else str(3333 + node % 2)])
    series.append({"metric": {"node": f"emqx@emqx-ee-{node}.emqx-ee-headless.default.svc.cluster.local"}, "values": values})
json.dump({"status": "success", "data": {"resultType": "matrix", "result": series}}, open(sys.argv[1], "w"))
EOF
"$bin" backtest --policy rules/default.yaml --connections "$work/connections.json" --cluster default/emqx-ee \
    --plot "$work/backtest.html" >"$work/backtest.log" 2>&1 || { cat "$work/backtest.log"; exit 1; }

python3 scripts/checks/chart-browser.py "$chromium" "$chromedriver" "$work/demo.html" "$work/backtest.html"
