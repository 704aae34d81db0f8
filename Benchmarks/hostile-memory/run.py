#!/usr/bin/env python3
"""RSS of `run` before and after oversized metric answers (docs/benchmarks.md, "Hostile answers").

Serves, on loopback, a minimal Kubernetes API (one EMQX 5 object, two nodes) and the nodes' metric endpoints; runs the
agent (`run`, dry run, a 5 s interval) on small answers for --warmup seconds, then on each big answer in turn for
--measure seconds, and prints VmRSS/VmHWM from /proc before and after, with the warning the agent logged.

Usage: Benchmarks/hostile-memory/run.py [--agent .build/release/emqx-autorebalancer] [--warmup 30] [--measure 40]
"""
import argparse, json, os, subprocess, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SMALL = ("# TYPE emqx_connections_count gauge\nemqx_connections_count 100\n# TYPE emqx_live_connections_count gauge\n"
         "emqx_live_connections_count 100\n# TYPE emqx_sessions_count gauge\nemqx_sessions_count 100\n")

def exposition(samples_per_family):
    """4000 families the agent does not read, then the three it reads: it must scan the whole body."""
    parts = [f"# HELP emqx_filler_{n} filler\n# TYPE emqx_filler_{n} gauge\n" +
             "".join(f'emqx_filler_{n}{{node="emqx@n0",k="{i}"}} {i}\n' for i in range(samples_per_family))
             for n in range(4000)]
    return ("".join(parts) + SMALL).encode()

def vector(series):
    now = time.time()
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"node": f"emqx@n{i}" if i < 2 else f"emqx@x{i}", "pod": "p" * 100}, "value": [now, "100"]}
        for i in range(series)]}}).encode()

EMQX = {"apiVersion": "apps.emqx.io/v2beta1", "kind": "EMQX",
        "metadata": {"name": "emqx", "namespace": "default", "uid": "u1", "generation": 1, "resourceVersion": "1"},
        "spec": {"image": "emqx/emqx-enterprise:5.8.0", "coreTemplate": {"spec": {"replicas": 2}}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "coreNodes": [{"node": f"emqx@n{i}", "node_status": "running", "role": "core", "version": "5.8.0"} for i in range(2)],
                   "coreNodesStatus": {"replicas": 2, "readyReplicas": 2, "currentRevision": "a", "updateRevision": "a"}}}
GROUP = {"kind": "APIGroup", "name": "apps.emqx.io", "versions": [{"groupVersion": "apps.emqx.io/v2beta1", "version": "v2beta1"}],
         "preferredVersion": {"groupVersion": "apps.emqx.io/v2beta1", "version": "v2beta1"}}
RESOURCES = {"kind": "APIResourceList", "groupVersion": "apps.emqx.io/v2beta1", "resources": [
    {"name": "emqxes", "namespaced": True, "kind": "EMQX", "verbs": ["get", "list", "watch"]},
    {"name": "rebalances", "namespaced": True, "kind": "Rebalance", "verbs": ["get", "list", "create", "delete"]}]}
state = {"body": SMALL.encode(), "type": "text/plain; version=0.0.4"}

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def answer(self, body, content_type="application/json", code=200):
        self.send_response(code); self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        path = self.path.split("?")[0]
        if path.startswith("/metrics/"): return self.answer(state["body"], state["type"])
        objects = {"/version": {"major": "1", "minor": "30", "gitVersion": "v1.30.0"}, "/apis/apps.emqx.io": GROUP,
                   "/apis/apps.emqx.io/v2beta1": RESOURCES}
        if path in objects: return self.answer(json.dumps(objects[path]).encode())
        if path.endswith("/emqxes/emqx"): return self.answer(json.dumps(EMQX).encode())
        if path.endswith("/rebalances"): return self.answer(json.dumps({"kind": "RebalanceList", "metadata": {}, "items": []}).encode())
        self.answer(b'{"kind":"Status","code":404,"reason":"NotFound"}', code=404)

class Server(ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address):
        pass  # the agent drops the connection of an answer over its limit: expected, not news

def rss(pid):
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(("VmRSS", "VmHWM")): fields[line.split(":")[0]] = int(line.split()[1]) // 1024
    return f"RSS {fields['VmRSS']} MB (peak {fields['VmHWM']} MB)"

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--agent", default=".build/release/emqx-autorebalancer")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--measure", type=int, default=40)
    options = parser.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    work = tempfile.mkdtemp(prefix="hostile-memory-")
    open(f"{work}/kubeconfig", "w").write(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "{base}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
""")
    open(f"{work}/policy.yaml", "w").write("""apiVersion: autorebalancer.emqx.io/v1alpha1
kind: Policy
metadata: {name: p}
spec:
  evaluationInterval: 5s
  rules:
    - {name: skew, trigger: skew, imbalance: {connections: {abs: 10, rel: 1.2}}, for: 0s, cooldown: 0s,
       rebalanceStrategy: {connEvictRate: 10, absConnThreshold: 5, relConnThreshold: "1.1"}}
""")
    sources = {
        "emqx": f'emqx: {{targets: {{"emqx@n0": "{base}/metrics/n0", "emqx@n1": "{base}/metrics/n1"}}}}',
        "prometheus": f'prometheus: {{url: "{base}/metrics/prometheus"}}',
    }
    cases = [  # (label, source, big body, content type)
        ("emqx, 33 MB exposition", "emqx", exposition(190), "text/plain; version=0.0.4"),
        ("emqx, 8 MB exposition (under the limit)", "emqx", exposition(46), "text/plain; version=0.0.4"),
        ("prometheus, 32 MB vector", "prometheus", vector(180_000), "application/json"),
    ]
    for label, source, big, content_type in cases:
        open(f"{work}/agent.yaml", "w").write(f"""apiVersion: autorebalancer.emqx.io/v1alpha1
kind: AgentConfig
listen: 127.0.0.1:0
dryRun: true
leaderElection: {{enabled: false}}
policies: [policy.yaml]
clusters:
  - {{namespace: default, name: emqx, kind: EMQX, sources: [{sources[source]}]}}
""")
        state["body"], state["type"] = (SMALL.encode(), "text/plain; version=0.0.4") if source == "emqx" else (vector(2), "application/json")
        log = open(f"{work}/agent.log", "w")
        agent = subprocess.Popen([options.agent, "run", "--config", f"{work}/agent.yaml", "--kubeconfig", f"{work}/kubeconfig"],
                                 stdout=log, stderr=subprocess.STDOUT)
        try:
            time.sleep(options.warmup)
            before = rss(agent.pid)
            state["body"], state["type"] = big, content_type
            time.sleep(options.measure)
            after = rss(agent.pid)
        finally:
            agent.terminate(); agent.wait()
        warnings = [l.split("error=", 1)[-1][:160] for l in open(f"{work}/agent.log") if "metric source failed" in l]
        print(f"{label} ({len(big)} bytes): before {before}; after {options.measure} s of big answers {after}")
        print(f"  logged: {warnings[-1] if warnings else 'no source failure (the answer was used)'}")

if __name__ == "__main__":
    sys.exit(main())
