#!/usr/bin/env python3
"""Every command README.md and docs/*.md give, run as written where this machine can run it.

Commands are taken from ```sh/```bash/```console blocks (one per logical line, `\\` continuations joined), from `$ `
lines of other blocks, and from inline code that starts with a program name (`emqx-autorebalancer …`, `kubectl …`).
They run in a scratch folder holding a copy of rules/ and deploy/, with the files the docs name: `agent.yaml` (the
shipped config, pointed at rules/), `connections.json` and `sessions.json` (a week of one-minute history with a node
joining empty), and a real Prometheus (Debian's, started here on loopback) holding that same week, which every
Prometheus URL of the docs is pointed at. `emqx-autorebalancer` is the binary built by `swift build`.

Commands that need a cluster (`run --once --kubeconfig …`, `kubectl get …`) run against `emqx-autorebalancer demo
--serve` (started in the background, stopped by its PID with SIGINT): its kubeconfig stands for `~/.kube/config` and
`DIR/kubeconfig`, its folder for `DIR`, and `run --once --config agent.yaml` runs in that folder, with the agent
configuration the demo wrote. The demo's cluster is `default/emqx-ee`, so the docs' namespace `emqx` becomes `default`.

A command that needs what no test machine has (a Kubernetes cluster with the EMQX Operator, Docker and a registry,
a running agent) is listed as skipped, with the reason. A command of the docs' usage synopses (UPPERCASE
placeholders) is not a command. Every other one must exit 0, or the status the docs give for it (EXPECTED below).

Usage: docs-commands.py BINARY PROMETHEUS PROMTOOL   (scripts/checks/docs-commands.sh runs it)
"""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

root = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
binary, prometheus_bin, promtool = (os.path.realpath(sys.argv[1]), sys.argv[2], sys.argv[3])
PROGRAMS = ("emqx-autorebalancer", "swift run", "scripts/", "kubectl", "curl", "docker", "deploy/", "sed ", "PROM=",
            "python3", "jq")

# --- extraction ---------------------------------------------------------------------------------------------------


def extract(path):
    """(file:line, command) pairs."""
    found = []
    lines = open(path, encoding="utf-8").read().split("\n")
    fence, info, pending, start = None, "", "", 0
    for number, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if fence is None:
            match = re.match(r"^(```+)\s*(\S*)", stripped)
            if match:
                fence, info = match.group(1), match.group(2).lower()
                continue
            for span in re.findall(r"`([^`]+)`", raw):
                # `emqx-autorebalancer check` alone names the command; with arguments it is one to run.
                if span.startswith(("emqx-autorebalancer ", "kubectl ", "swift run ", "curl ", "docker ")) and len(span.split()) > 2:
                    found.append((f"{os.path.relpath(path, root)}:{number}", span, "inline"))
            continue
        if stripped.startswith(fence) and stripped.strip("`") == "":
            fence = None
            continue
        shell = info in ("sh", "bash", "shell", "console")
        text = stripped
        if not shell:
            if not text.startswith("$ "):
                continue
        if text.startswith("$ "):
            text = text[2:]
        if not pending:
            start = number
        if text.endswith("\\"):
            pending += text[:-1].rstrip() + " "
            continue
        text = (pending + text).strip()
        pending = ""
        if not text or text.startswith("#"):
            continue
        # A trailing comment after two spaces (the docs' style); quotes never hold "  #" here.
        text = re.sub(r"\s{2,}#.*$", "", text).strip()
        found.append((f"{os.path.relpath(path, root)}:{start}", text, "block"))
    return found


# --- what cannot run here, and why ------------------------------------------------------------------------------

SKIPS = [
    (r"^scripts/test\b", "the whole test suite: this checker runs inside it"),
    (r"^kubectl (apply -k|delete -k)\b.*deploy/", "needs a Kubernetes cluster; deploy.sh renders every kustomization with `kubectl kustomize`"),
    (r"^pip install", "sets up the benchmark harness (docs/benchmarks.md), not the product"),
    (r"^kubectl kustomize\b", None),  # runs here: it renders files and needs no cluster
    (r"^kubectl .*get lease \| grep emqx-autorebalancer-", "lists the shard and member Leases of a sharded agent (`leaderElection.shards`); the demo runs one agent with one Lease"),
    # Against `demo --serve`: reads of what the simulated API serves.
    (r"^kubectl (--kubeconfig \S+ )?(-n \S+ )?get (rebalances|emqx|emqxenterprises|emqxrebalances|events|lease)\b", None),
    (r"^emqx-autorebalancer run --once --config (agent\.yaml|DIR/agent\.yaml) --kubeconfig (~/\.kube/config|DIR/kubeconfig)$", None),
    (r"^kubectl\b.*\bget (deploy|pods|endpoints)\b", "reads Deployments, Pods or Endpoints, which the simulated Kubernetes API of `demo --serve` does not serve"),
    (r"^kubectl\b", "needs a real cluster running the agent (logs, exec, rollout, port-forward, edits); `demo --serve` answers the reads"),
    (r"(^|&& )kubectl\b", "ends with kubectl against a Kubernetes cluster"),
    (r"^docker\b", "needs Docker and a registry; deploy.sh lints the Dockerfile with hadolint"),
    (r"^curl -s localhost:9090", "reads a running agent's port-forwarded /metrics; the admin server tests read them on loopback"),
    (r"--kubeconfig|^emqx-autorebalancer run\b", "reads a live Kubernetes API; the end-to-end tests run `run` and `run --once` against the simulated cluster"),
    (r"^deploy/sync-rules\.sh|^bash deploy/prometheus/render-prometheusrule\.sh|^deploy/prometheus/render",
     "rewrites a shipped file; deploy.sh checks that the shipped copy is what it writes"),
    (r"^scripts/checks/", "another check of scripts/test"),
    (r"^swift run -c release|^swift build -c release|footprint|parser-benchmark",
     "a benchmark (minutes of release build); docs/benchmarks.md holds its figures"),
]

# Synopses: usage lines with placeholders, not commands.
SYNOPSIS = re.compile(r"\b(FILE|NS/NAME|URL|DURATION|LEVEL|NAME|DIR|TAG|REGISTRY)\b|\[|\|")

# Commands the docs say fail, with the status they give.
EXPECTED = {}


def needs_cluster(command):
    """Whether the command runs against `demo --serve` (a kubeconfig or kubectl get)."""
    return "--kubeconfig" in command or re.match(r"^kubectl .*\bget\b", command) is not None


def for_served_demo(command, served):
    """The command, pointed at the served demo (see the module's docstring)."""
    command = command.replace("~/.kube/config", f"{served}/kubeconfig").replace("DIR/", f"{served}/")
    if command.startswith("kubectl "):
        command = re.sub(r"(-n|--namespace) emqx\b", r"\1 default", command)
    return command


def serve_demo(work, env):
    """`demo --serve` in the background; returns (process, folder) once its ready line is printed."""
    served = f"{work}/served-demo"
    log = open(f"{work}/demo-serve.log", "w")
    process = subprocess.Popen([binary, "demo", "--speed", "100", "--serve-dir", served],
                               stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=work)
    deadline = time.monotonic() + 300
    for line in process.stdout:
        if line.startswith("serving: "):
            return process, served
        if time.monotonic() > deadline:
            break
    stop_demo(process)
    raise SystemExit(f"FAIL  `demo --serve` printed no ready line (see {work}/demo-serve.log)")


def stop_demo(process):
    """SIGINT to the demo this script started, by its process; it must exit 0 (a clean, graceful stop)."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return "did not stop within 60 s of SIGINT"
    if process.stdout:
        process.stdout.close()
    return None if process.returncode == 0 else f"exited {process.returncode} after SIGINT"


def classify(command):
    if command.startswith("swift run emqx-autorebalancer "):
        command = "emqx-autorebalancer " + command[len("swift run emqx-autorebalancer "):]
    if command.startswith("kubectl ") and shutil.which("kubectl") is None:
        return None, "kubectl is not installed on this machine"
    if command.startswith("kubectl ") and re.search(r"\b(NAME|FILE)\b", command):
        return None, "a usage synopsis with placeholders"
    for pattern, reason in SKIPS:
        if re.search(pattern, command):
            if reason is None:
                break
            return None, reason
    first = command.split()[0]
    if "=" in first and not first.startswith("-"):
        return command, None  # a shell variable assignment, kept for the lines after it
    if not command.startswith(PROGRAMS):
        return None, f"not a command of this project ({first})"
    if command.startswith("emqx-autorebalancer") and SYNOPSIS.search(command.split("|")[0].replace("--policy FILE", "")):
        if re.search(r"\b[A-Z]{2,}[A-Z/]*\b", command):
            return None, "a usage synopsis with placeholders"
    return command, None


# --- the world the commands run in ------------------------------------------------------------------------------

WEEK = 7 * 24 * 60
NODES = [f"emqx@emqx-ee-{i}.emqx-ee-headless.emqx.svc.cluster.local" for i in range(4)]
# The day the docs' examples name (docs/backtest.md exports 2026-11-20..21).
DOCS_DAY = 1795132800  # 2026-11-20T00:00:00Z


def history(end):
    """Per node, [(unix seconds, value)] of one-minute samples over the week ending at `end` and the week from the
    docs' example day: three nodes near 3333, a fourth joining empty on each week's third day."""
    samples = {}
    for start in (DOCS_DAY, end - (WEEK - 1) * 60):
        for i in range(WEEK):
            samples.setdefault(start + i * 60, i >= 3 * 24 * 60)
    out = {}
    for index, node in enumerate(NODES):
        out[node] = [(t, 0 if index == 3 else 3333 + index % 2) for t, joined in sorted(samples.items())
                     if index != 3 or joined]
    return out


def write_matrix(path, series):
    result = [{"metric": {"__name__": "emqx_live_connections_count", "namespace": "emqx", "cluster": "emqx-ee", "node": node},
               "values": [[t, str(v)] for t, v in samples]} for node, samples in series.items()]
    with open(path, "w") as out:
        json.dump({"status": "success", "data": {"resultType": "matrix", "result": result}}, out)


def start_prometheus(work, end):
    """A real Prometheus on loopback holding the week, backfilled with promtool; returns (process, URL)."""
    lines = []
    for metric in ("emqx_live_connections_count", "emqx_connections_count", "emqx_sessions_count"):
        lines.append(f"# TYPE {metric} gauge")
        for node, samples in history(end).items():
            for t, v in samples:
                lines.append(f'{metric}{{namespace="emqx",cluster="emqx-ee",node="{node}"}} {v} {t}')
    lines.append("# EOF")
    with open(f"{work}/history.om", "w") as out:
        out.write("\n".join(lines) + "\n")
    data = f"{work}/prometheus-data"
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", f"{work}/history.om", data],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    open(f"{work}/prometheus.yml", "w").write("global: {}\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(f"{work}/prometheus.log", "w")
    process = subprocess.Popen(
        [prometheus_bin, f"--config.file={work}/prometheus.yml", f"--storage.tsdb.path={data}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=10y"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/v1/query?query=count(emqx_live_connections_count)", timeout=2) as r:
                if json.load(r)["data"]["result"]:
                    return process, url
        except Exception:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    process.terminate()
    raise SystemExit(f"FAIL  the local Prometheus did not serve the backfilled week (see {work}/prometheus.log)")


def prepare(work):
    for folder in ("rules", "deploy", "schema"):
        shutil.copytree(f"{root}/{folder}", f"{work}/{folder}")
    config = open(f"{root}/deploy/base/config/agent.yaml").read()
    config = config.replace("../rules/default.yaml", "rules/default.yaml")
    open(f"{work}/agent.yaml", "w").write(config)
    os.makedirs(f"{work}/bin")
    os.symlink(binary, f"{work}/bin/emqx-autorebalancer")


# --- running ----------------------------------------------------------------------------------------------------


def main():
    commands = []
    for path in [f"{root}/README.md"] + sorted(glob.glob(f"{root}/docs/*.md")):
        commands += extract(path)
    work = tempfile.mkdtemp(prefix="emqx-autorebalancer-docs-")
    prometheus = demo = None
    passed, failed, skipped = [], [], []
    try:
        prepare(work)
        end = int(time.time()) // 60 * 60
        write_matrix(f"{work}/connections.json", history(end))
        write_matrix(f"{work}/sessions.json", history(end))
        prometheus, url = start_prometheus(work, end)
        env = dict(os.environ, PATH=f"{work}/bin:{os.environ['PATH']}")
        demo, served = serve_demo(work, env)
        assignments = ""
        for where, command, kind in commands:
            runnable, reason = classify(command)
            if runnable is None:
                skipped.append((where, command, reason))
                continue
            # Every Prometheus the docs name is the local one.
            runnable = re.sub(r"https?://prometheus[\w.-]*(:\d+)?", url, runnable)
            if re.match(r"^[A-Z_]+=", runnable) and " " not in runnable.split("=", 1)[0]:
                assignments += runnable + "\n"  # PROM=… START=…: kept for the commands after it in the same file
                passed.append((where, command, "assignment"))
                continue
            cwd, command_env = work, env
            if needs_cluster(runnable):
                runnable = for_served_demo(runnable, served)
                cwd, command_env = served, dict(env, KUBECONFIG=f"{served}/kubeconfig")
            script = assignments + runnable
            result = subprocess.run(["bash", "-c", "set -o pipefail\n" + script], cwd=cwd, env=command_env,
                                    stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
            want = EXPECTED.get(command, 0)
            if result.returncode == want:
                passed.append((where, command, f"exit {result.returncode}"))
            else:
                output = (result.stdout + result.stderr).strip().splitlines()
                failed.append((where, command, f"exit {result.returncode}, expected {want}", output[-6:]))
        stopped = stop_demo(demo)
        demo = None
        if stopped:
            failed.append(("scripts/checks/docs-commands.py", "emqx-autorebalancer demo --serve-dir …", stopped, []))
        else:
            passed.append(("scripts/checks/docs-commands.py", "emqx-autorebalancer demo --serve-dir … (stopped by SIGINT)", "exit 0"))
    finally:
        if demo is not None:
            stop_demo(demo)
        if prometheus is not None:
            prometheus.terminate()  # only the Prometheus this script started, by its process
            try:
                prometheus.wait(timeout=30)
            except subprocess.TimeoutExpired:
                prometheus.kill()
        if not os.environ.get("DOCS_COMMANDS_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    for where, command, note in passed:
        print(f"ok    {where}: {command}")
    for where, command, reason in skipped:
        print(f"SKIP  {where}: {command}\n        {reason}")
    for where, command, note, output in failed:
        print(f"FAIL  {where}: {command}\n        {note}")
        for line in output:
            print(f"        | {line}")
    print(f"\ndocs commands: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")
    sys.exit(1 if failed else 0)


main()
