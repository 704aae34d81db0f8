#!/usr/bin/env python3
"""Writes emqx-autorebalancer.json, the Grafana dashboard of the agent's own metrics.

Usage: python3 deploy/grafana/generate.py [OUTPUT]    (default: emqx-autorebalancer.json beside this script)
scripts/checks/deploy.sh regenerates it and fails when the committed JSON differs, and checks that every metric it
queries is in deploy/metrics-contract.txt.
"""
import json
import os
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'cluster=~"$cluster"'
# Rule states as numbers for the state timeline: the agent's one vocabulary (RuleState), in its order. A Swift test
# (MetricsContractTests) fails when this list and the agent's differ.
STATES = ["inactive", "pending", "firing", "creating", "acted", "cooling-down", "suspended"]
STATE_COLORS = ["green", "yellow", "orange", "light-blue", "blue", "purple", "red"]

_next_id = [0]
_y = [0]


def next_id():
    _next_id[0] += 1
    return _next_id[0]


def target(expr, legend, ref="A", instant=False):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref}
    if instant:
        t["instant"] = True
        t["range"] = False
    return t


def panel(kind, title, description, targets, x, w, h, unit="short", extra=None):
    p = {
        "id": next_id(),
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"x": x, "y": _y[0], "w": w, "h": h},
        "targets": [target(*t[:2], ref=chr(ord("A") + i), instant=(t[2] if len(t) > 2 else False))
                    for i, t in enumerate(targets)],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
    }
    if kind == "timeseries":
        p["fieldConfig"]["defaults"]["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0,
                                                  "showPoints": "never", "spanNulls": False}
        p["options"] = {"legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}}
    if extra:
        for key, value in extra.items():
            if key == "defaults":
                p["fieldConfig"]["defaults"].update(value)
            elif key == "custom":
                p["fieldConfig"]["defaults"].setdefault("custom", {}).update(value)
            else:
                p[key] = value
    return p


def row(title):
    r = {"id": next_id(), "type": "row", "title": title, "collapsed": False, "panels": [],
         "gridPos": {"x": 0, "y": _y[0], "w": 24, "h": 1}}
    _y[0] += 1
    return r


def advance(h):
    _y[0] += h


def bars():
    return {"custom": {"drawStyle": "bars", "fillOpacity": 80, "stacking": {"mode": "normal", "group": "A"}}}


def threshold_zero():
    # Above 0, the inequality fails: show the zero line as the boundary.
    return {"defaults": {"thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                                      {"color": "red", "value": 0}]}},
            "custom": {"thresholdsStyle": {"mode": "line"}}}


def flag_stat(title, description, expr, legend, x, w, zero, one):
    """A stat of a 0/1 value, shown as words: `zero` and `one` are (text, color)."""
    return panel(
        "stat", title, description, [(expr, legend, True)], x, w, 4, unit="none", extra={"defaults": {
            "mappings": [{"type": "value", "options": {"0": {"text": zero[0], "color": zero[1], "index": 0},
                                                        "1": {"text": one[0], "color": one[1], "index": 1}}}]},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"}})


def rule_state_expr():
    parts = []
    for code, state in enumerate(STATES):
        owner_only = (f'(emqx_autorebalancer_rule_state{{{SEL}, state="{state}"}} == 1 '
                      f'and on (instance, cluster) emqx_autorebalancer_cluster_owned == 1)')
        parts.append(f"{owner_only} * {code}")
    return "max by (cluster, rule) (\n  " + "\n  or ".join(parts) + "\n)"


def build():
    panels = []

    panels.append(row("Balance"))
    panels.append(panel(
        "timeseries", "Live connections per node",
        "Live connections of each node of the rebalanced node set (replicants if any, else cores), as the agent "
        "observed them.",
        [(f"max by (cluster, node) (emqx_autorebalancer_node_connections{{{SEL}}})", "{{cluster}} {{node}}")],
        0, 12, 9))
    panels.append(panel(
        "timeseries", "Sessions per node", "Sessions of each node of the rebalanced node set.",
        [(f"max by (cluster, node) (emqx_autorebalancer_node_sessions{{{SEL}}})", "{{cluster}} {{node}}")],
        12, 12, 9))
    advance(9)
    panels.append(panel(
        "timeseries", "Donor and recipient average connections",
        "EMQX's balance formula: donors are the nodes at or above the average, recipients the rest. The cluster is "
        "balanced when avg(donors) <= avg(recipients) + abs OR avg(donors) <= avg(recipients) * rel.",
        [(f"max by (cluster) (emqx_autorebalancer_donor_average_connections{{{SEL}}})", "{{cluster}} donors"),
         (f"max by (cluster) (emqx_autorebalancer_recipient_average_connections{{{SEL}}})",
          "{{cluster}} recipients")],
        0, 8, 8))
    panels.append(panel(
        "timeseries", "Imbalance ratio (connections)",
        "avg(donors) / avg(recipients). Undefined (a gap) while the recipients average 0, e.g. a node just added: "
        "the threshold excess panel shows that case.",
        [(f"max by (cluster) (emqx_autorebalancer_donor_average_connections{{{SEL}}})\n"
          f"/ max by (cluster) (emqx_autorebalancer_recipient_average_connections{{{SEL}}} > 0)", "{{cluster}}")],
        8, 8, 8, unit="none", extra={"defaults": {"decimals": 2}}))
    panels.append(panel(
        "timeseries", "Threshold excess (connections)",
        "How far each rule's detection inequality is from holding: avg(donors) - (avg(recipients) + abs) for "
        "threshold=abs, avg(donors) - avg(recipients) * rel for threshold=rel. The cluster is imbalanced for a "
        "rule when both are above 0.",
        [(f"max by (cluster, rule, threshold) (emqx_autorebalancer_threshold_excess_connections{{{SEL}}})",
          "{{cluster}} {{rule}} {{threshold}}")],
        16, 8, 8, extra=threshold_zero()))
    advance(8)
    panels.append(panel(
        "timeseries", "Donor and recipient average sessions", "The same formula on sessions.",
        [(f"max by (cluster) (emqx_autorebalancer_donor_average_sessions{{{SEL}}})", "{{cluster}} donors"),
         (f"max by (cluster) (emqx_autorebalancer_recipient_average_sessions{{{SEL}}})", "{{cluster}} recipients")],
        0, 8, 8))
    panels.append(panel(
        "timeseries", "Threshold excess (sessions)", "As for connections, on sessions.",
        [(f"max by (cluster, rule, threshold) (emqx_autorebalancer_threshold_excess_sessions{{{SEL}}})",
          "{{cluster}} {{rule}} {{threshold}}")],
        8, 8, 8, extra=threshold_zero()))
    panels.append(panel(
        "state-timeline", "Cluster imbalanced", "1 while the cluster is imbalanced by the rules' detection thresholds.",
        [(f"max by (cluster) (emqx_autorebalancer_cluster_imbalanced{{{SEL}}})", "{{cluster}}")],
        16, 8, 8, unit="none",
        extra={"defaults": {"mappings": [{"type": "value", "options": {
            "0": {"text": "balanced", "color": "green", "index": 0},
            "1": {"text": "imbalanced", "color": "red", "index": 1}}}],
            "color": {"mode": "thresholds"},
            "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}]}},
            "options": {"showValue": "never", "mergeValues": True, "rowHeight": 0.8}}))
    advance(8)

    panels.append(row("Decisions"))
    panels.append(panel(
        "state-timeline", "Rule state (owner)",
        "The state of each rule per cluster, as the replica that writes for it sees it (the leader, or the owner of "
        "the cluster's shard): inactive, pending (condition holds, waiting "
        "for `for`), firing (wants to act; a gate, a failed create's backoff or dry run holds it back), creating "
        "(decided, not yet confirmed), acted (the Rebalance was created), cooling-down (after its own rebalance), "
        "suspended (paused, or after repeated ineffective outcomes until reset).",
        [(rule_state_expr(), "{{cluster}} {{rule}}")],
        0, 24, 8, unit="none",
        extra={"defaults": {"mappings": [{"type": "value", "options": {
            str(code): {"text": state, "color": STATE_COLORS[code], "index": code}
            for code, state in enumerate(STATES)}}],
            "color": {"mode": "thresholds"},
            "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}]}},
            "options": {"showValue": "auto", "mergeValues": True, "rowHeight": 0.8}}))
    advance(8)
    panels.append(panel(
        "timeseries", "Rebalances created", "Rebalance resources created, by rule.",
        [(f"sum by (cluster, rule) (increase(emqx_autorebalancer_rebalances_created_total{{{SEL}}}"
          f"[$__rate_interval]))", "{{cluster}} {{rule}}")],
        0, 8, 8, extra=bars()))
    panels.append(panel(
        "timeseries", "Rebalances completed, by outcome",
        "Outcomes judged from the metrics: balanced, improved, ineffective, nothing-to-balance.",
        [(f"sum by (cluster, outcome) (increase(emqx_autorebalancer_rebalances_completed_total{{{SEL}}}"
          f"[$__rate_interval]))", "{{cluster}} {{outcome}}"),
         (f"sum by (cluster) (increase(emqx_autorebalancer_rebalances_ineffective_total{{{SEL}}}"
          f"[$__rate_interval]))", "{{cluster}} ineffective (total)")],
        8, 8, 8, extra=bars()))
    panels.append(panel(
        "timeseries", "Rebalances failed, by reason",
        "Rebalances that ended Failed, and attempts to create a decided Rebalance that failed (by failure class: "
        "forbidden, invalid, unavailable, ...; retried with backoff, never counted toward a limit).",
        [(f"sum by (cluster, reason) (increase(emqx_autorebalancer_rebalances_failed_total{{{SEL}}}"
          f"[$__rate_interval]))", "{{cluster}} {{reason}}"),
         (f"sum by (cluster, rule, reason) (increase(emqx_autorebalancer_actions_failed_total{{{SEL}}}"
          f"[$__rate_interval]))", "{{cluster}} {{rule}} create {{reason}}")],
        16, 8, 8, extra=bars()))
    advance(8)
    panels.append(panel(
        "timeseries", "Blocked decisions, by reason",
        "Evaluations where a rule wanted to act and a safety gate held it back (cluster not Ready, upgrade, "
        "rebalance running, missing data, cooldown, daily limit, ...).",
        [(f"sum by (cluster, reason) (increase(emqx_autorebalancer_decisions_blocked_total{{{SEL}}}"
          f"[$__rate_interval]))", "{{cluster}} {{reason}}")],
        0, 8, 8, extra=bars()))
    panels.append(panel(
        "timeseries", "Blocked for", "How long each rule has been held back without interruption.",
        [(f"max by (cluster, rule) (emqx_autorebalancer_blocked_duration_seconds{{{SEL}}})", "{{cluster}} {{rule}}")],
        8, 8, 8, unit="s"))
    panels.append(panel(
        "timeseries", "Rebalance in progress",
        "1 while a Rebalance runs; its processing time (the RebalanceStuck alert fires above 30 minutes).",
        [(f"max by (cluster) (emqx_autorebalancer_rebalance_in_progress{{{SEL}}})", "{{cluster}} in progress"),
         (f"max by (cluster) (emqx_autorebalancer_rebalance_processing_duration_seconds{{{SEL}}})",
          "{{cluster}} processing (s)")],
        16, 8, 8, unit="none"))
    advance(8)

    panels.append(row("Agent health"))
    panels.append(panel(
        "stat", "Replicas reporting", "Agent replicas whose /metrics is scraped, by version.",
        [("count by (version) (emqx_autorebalancer_build_info)", "{{version}}", True)],
        0, 5, 4, extra={"options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "textMode": "value_and_name"}}))
    panels.append(panel(
        "stat", "Unowned shards", "Shards whose Lease no replica holds (one shard, the leader Lease, without "
        "leaderElection.shards): 0 expected. Their clusters are not acted on.",
        [("count(max by (shard) (emqx_autorebalancer_shard_owned) == 0) or vector(0)", "unowned", True)],
        5, 5, 4, extra={"defaults": {"thresholds": {"mode": "absolute", "steps": [
            {"color": "green", "value": None}, {"color": "red", "value": 1}]}},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"}}))
    panels.append(flag_stat(
        "Dry run (leader)", "1: the leader writes nothing (dryRun in its configuration, or --dry-run); "
        "a reload of dryRun takes effect on the next cycle.",
        "max(emqx_autorebalancer_dry_run and on (instance) emqx_autorebalancer_leader == 1)", "dry run",
        10, 4, ("writes", "green"), ("dry run", "orange")))
    panels.append(panel(
        "stat", "Since last evaluation", "Time since the latest completed evaluation of any replica.",
        [("time() - max(emqx_autorebalancer_last_evaluation_timestamp_seconds)", "age", True)],
        14, 5, 4, unit="s", extra={"defaults": {"thresholds": {"mode": "absolute", "steps": [
            {"color": "green", "value": None}, {"color": "orange", "value": 120}, {"color": "red", "value": 300}]}},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"}}))
    panels.append(flag_stat(
        "Last config reload", "1: the last reload of the agent config and policies succeeded on every "
        "replica; 0: a replica runs on its previous configuration (see its logs).",
        "min(emqx_autorebalancer_config_last_reload_successful)", "successful",
        19, 5, ("failed", "red"), ("ok", "green")))
    advance(4)
    panels.append(panel(
        "timeseries", "Metric sources up", "1 while the cluster's metric source answers; rules of a cluster whose "
        "source is down are blocked (missing data is never zero).",
        [(f"min by (cluster, source) (emqx_autorebalancer_source_up{{{SEL}}})", "{{cluster}} {{source}}")],
        0, 8, 8, unit="none"))
    panels.append(panel(
        "timeseries", "Source errors", "Failed queries or scrapes per second.",
        [(f"sum by (cluster, source) (rate(emqx_autorebalancer_source_errors_total{{{SEL}}}[$__rate_interval]))",
          "{{cluster}} {{source}}")],
        8, 8, 8, unit="reqps"))
    panels.append(panel(
        "timeseries", "Source latency (p50, p99)", "Duration of one query or scrape of a metric source.",
        [("histogram_quantile(0.5, sum by (source, le) "
          "(rate(emqx_autorebalancer_source_duration_seconds_bucket[$__rate_interval])))", "{{source}} p50"),
         ("histogram_quantile(0.99, sum by (source, le) "
          "(rate(emqx_autorebalancer_source_duration_seconds_bucket[$__rate_interval])))", "{{source}} p99")],
        16, 8, 8, unit="s"))
    advance(8)
    panels.append(panel(
        "timeseries", "Evaluation duration (p50, p99, mean)", "Duration of one evaluation cycle of all clusters.",
        [("histogram_quantile(0.5, sum by (le) "
          "(rate(emqx_autorebalancer_evaluation_duration_seconds_bucket[$__rate_interval])))", "p50"),
         ("histogram_quantile(0.99, sum by (le) "
          "(rate(emqx_autorebalancer_evaluation_duration_seconds_bucket[$__rate_interval])))", "p99"),
         ("sum(rate(emqx_autorebalancer_evaluation_duration_seconds_sum[$__rate_interval]))\n"
          "/ sum(rate(emqx_autorebalancer_evaluation_duration_seconds_count[$__rate_interval]))", "mean")],
        0, 8, 8, unit="s"))
    panels.append(panel(
        "timeseries", "Config reloads", "Reloads of the agent config and policy files, by result.",
        [("sum by (result) (increase(emqx_autorebalancer_config_reloads_total[$__rate_interval]))", "{{result}}")],
        8, 8, 8, extra=bars()))
    panels.append(panel(
        "timeseries", "Alerts sent", "Notifications sent to Alertmanager and webhooks, by receiver and result.",
        [("sum by (receiver, result) (increase(emqx_autorebalancer_alerts_sent_total[$__rate_interval]))",
          "{{receiver}} {{result}}")],
        16, 8, 8, extra=bars()))
    advance(8)

    # Panels inside rows keep their own gridPos; Grafana reads fieldConfig "custom" keys per panel type only.
    for p in panels:
        if p["type"] in ("stat", "state-timeline", "row"):
            p.get("fieldConfig", {}).get("defaults", {}).pop("custom", None)

    return {
        "__inputs": [],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
        ],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": "emqx-autorebalancer: per-node balance of EMQX clusters, rule states, rebalances and the "
                       "agent's health.",
        "editable": True,
        "graphTooltip": 1,
        "links": [],
        "panels": panels,
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["emqx", "emqx-autorebalancer"],
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
             "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []},
            {"name": "cluster", "label": "Cluster", "type": "query", "datasource": DS,
             "definition": "label_values(emqx_autorebalancer_cluster_imbalanced, cluster)",
             "query": {"query": "label_values(emqx_autorebalancer_cluster_imbalanced, cluster)",
                       "refId": "PrometheusVariableQueryEditor-VariableQuery"},
             "current": {}, "hide": 0, "includeAll": True, "allValue": ".*", "multi": True, "refresh": 2,
             "regex": "", "sort": 1, "options": []},
        ]},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": "EMQX autorebalancer",
        "uid": "emqx-autorebalancer",
        "version": 1,
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                              "emqx-autorebalancer.json")
    with open(out, "w") as f:
        json.dump(build(), f, indent=2, sort_keys=False)
        f.write("\n")


if __name__ == "__main__":
    main()
