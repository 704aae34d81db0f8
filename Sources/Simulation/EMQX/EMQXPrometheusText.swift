import AutorebalancerCore
import Foundation

/// `mode` of EMQX 5's `GET /api/v5/prometheus/stats`.
public enum EMQXStatsMode: String, Sendable, Hashable, CaseIterable {
    /// Metrics of the answering node, no `node` label (the default).
    case node
    /// Per-node stats and counters summed over running nodes; VM and cluster gauges per node with a `node` label.
    case allNodesAggregated = "all_nodes_aggregated"
    /// Every per-node series with a leading `node` label.
    case allNodesUnaggregated = "all_nodes_unaggregated"
}

/// Renders the Prometheus text EMQX serves, from the simulated cluster's state.
///
/// EMQX 5 (prometheus.erl 4.10 fork): every family is `# TYPE name type` then `# HELP name ` (EMQX passes an empty
/// help), families in `collect_mf/2` order, a family with no samples keeps its header, and the body ends with an extra
/// newline. EMQX 4.4 (prometheus.erl 3.1 fork): `# TYPE` only, the Erlang VM collectors first, no labels on `emqx_*`.
enum EMQXPrometheusText {
    /// How a family's series behave in EMQX 5's cluster modes.
    enum Scope {
        /// Stats and counters of one node: unlabelled in node and aggregated modes (summed), `node` label when
        /// unaggregated.
        case perNode
        /// Cluster-consistent stats: the answering node's value, never labelled.
        case clusterConsistent
        /// VM, cluster and mria gauges: `node` label in both cluster modes, never summed.
        case nodeLabelled
    }

    struct Sample {
        var labels: [(String, String)] = []
        var value: Double
    }

    struct Family {
        var name: String
        var type: String
        var scope: Scope
        var samples: [Sample]
        /// mria families put `node` after their own labels.
        var nodeLabelLast = false
    }

    // MARK: EMQX 5

    static func emqx5(model: EMQXClusterModel, answering node: SimulatedEMQXNode, mode: EMQXStatsMode) -> String {
        let running = model.nodes.filter(\.isRunning)
        let perNode = running.map { (name: $0.name, families: emqx5Families(model: model, node: $0)) }
        let own = emqx5Families(model: model, node: node)
        var out = ""
        for (position, family) in own.enumerated() {
            out += "# TYPE \(family.name) \(family.type)\n# HELP \(family.name) \n"
            switch (mode, family.scope) {
            case (.node, _), (_, .clusterConsistent):
                for sample in family.samples { out += line(family.name, sample.labels, sample.value) }
            case (.allNodesAggregated, .perNode):
                var sums: [(labels: [(String, String)], value: Double)] = []
                for entry in perNode {
                    for sample in entry.families[position].samples {
                        if let existing = sums.firstIndex(where: { $0.labels.elementsEqual(sample.labels, by: ==) }) {
                            sums[existing].value += sample.value
                        } else {
                            sums.append((sample.labels, sample.value))
                        }
                    }
                }
                for sum in sums { out += line(family.name, sum.labels, sum.value) }
            case (.allNodesAggregated, .nodeLabelled), (.allNodesUnaggregated, .perNode),
                (.allNodesUnaggregated, .nodeLabelled):
                for entry in perNode {
                    let theirs = entry.families[position]
                    for sample in theirs.samples {
                        let labels =
                            theirs.nodeLabelLast
                            ? sample.labels + [("node", entry.name)] : [("node", entry.name)] + sample.labels
                        out += line(family.name, labels, sample.value)
                    }
                }
            }
        }
        return out + "\n"
    }

    static func emqx5Families(model: EMQXClusterModel, node: SimulatedEMQXNode) -> [Family] {
        let c = node.counters
        let live = Double(node.liveConnections)
        let sessions = Double(node.sessions)
        let subscriptions = Double(node.sessions * 2)
        let uptimeSeconds = node.uptime(at: model.now).map { $0 / .seconds(1) } ?? 0
        let clusterSessions = Double(model.nodes.filter(\.isRunning).reduce(0) { $0 + $1.sessions })
        let runningCount = Double(model.nodes.filter(\.isRunning).count)
        let stoppedCount = Double(model.nodes.filter { !$0.isRunning && $0.role == .core }.count)
        let packetsConnect = Double(c.clientConnected)
        let disconnected = Double(c.clientDisconnected)
        let received = Double(c.messagesReceived)
        let sent = Double(c.messagesSent)
        var families: [Family] = []
        func add(_ name: String, _ type: String, _ scope: Scope, _ value: Double?) {
            families.append(
                Family(name: name, type: type, scope: scope, samples: value.map { [Sample(value: $0)] } ?? [])
            )
        }
        // stats
        add("emqx_connections_count", "gauge", .perNode, Double(node.connections))
        add("emqx_connections_max", "gauge", .perNode, Double(max(node.sessionsMax, node.connections)))
        add("emqx_live_connections_count", "gauge", .perNode, live)
        add("emqx_live_connections_max", "gauge", .perNode, Double(node.liveConnectionsMax))
        add("emqx_sessions_count", "gauge", .perNode, sessions)
        add("emqx_sessions_max", "gauge", .perNode, Double(node.sessionsMax))
        add("emqx_channels_count", "gauge", .perNode, sessions)
        add("emqx_channels_max", "gauge", .perNode, Double(node.sessionsMax))
        add("emqx_suboptions_count", "gauge", .perNode, subscriptions)
        add("emqx_suboptions_max", "gauge", .perNode, Double(node.sessionsMax * 2))
        add("emqx_subscribers_count", "gauge", .perNode, sessions)
        add("emqx_subscribers_max", "gauge", .perNode, Double(node.sessionsMax))
        add("emqx_subscriptions_count", "gauge", .perNode, subscriptions)
        add("emqx_subscriptions_max", "gauge", .perNode, Double(node.sessionsMax * 2))
        add("emqx_durable_subscriptions_count", "gauge", .perNode, 0)
        add("emqx_durable_subscriptions_max", "gauge", .perNode, 0)
        add("emqx_delayed_count", "gauge", .perNode, 0)
        add("emqx_delayed_max", "gauge", .perNode, 0)
        // cluster-consistent stats
        add("emqx_cluster_sessions_count", "gauge", .clusterConsistent, clusterSessions)
        add("emqx_cluster_sessions_max", "gauge", .clusterConsistent, clusterSessions)
        add("emqx_topics_max", "gauge", .clusterConsistent, clusterSessions)
        add("emqx_topics_count", "gauge", .clusterConsistent, clusterSessions)
        add("emqx_retained_count", "gauge", .clusterConsistent, 3)
        add("emqx_retained_max", "gauge", .clusterConsistent, 3)
        add("emqx_subscriptions_shared_count", "gauge", .clusterConsistent, 0)
        add("emqx_subscriptions_shared_max", "gauge", .clusterConsistent, 0)
        // vm
        let cpu = min(95.0, 2.0 + live / 500.0)
        add("emqx_vm_cpu_use", "gauge", .nodeLabelled, cpu)
        add("emqx_vm_cpu_idle", "gauge", .nodeLabelled, 100.0 - cpu)
        add("emqx_vm_run_queue", "gauge", .nodeLabelled, 0)
        add("emqx_vm_process_messages_in_queues", "gauge", .nodeLabelled, 0)
        add("emqx_vm_total_memory", "gauge", .nodeLabelled, 8_331_776_000)
        add("emqx_vm_used_memory", "gauge", .nodeLabelled, 1_200_000_000 + live * 65_536)
        add("emqx_vm_mnesia_tm_mailbox_size", "gauge", .nodeLabelled, 0)
        add("emqx_vm_broker_pool_max_mailbox_size", "gauge", .nodeLabelled, 0)
        // cluster
        add("emqx_cluster_nodes_running", "gauge", .nodeLabelled, runningCount)
        add("emqx_cluster_nodes_stopped", "gauge", .nodeLabelled, stoppedCount)
        // packets
        add("emqx_bytes_received", "counter", .perNode, received * 96 + packetsConnect * 64)
        add("emqx_bytes_sent", "counter", .perNode, sent * 96 + packetsConnect * 4)
        add("emqx_packets_received", "counter", .perNode, received + packetsConnect + Double(uptimeSeconds / 30) * live)
        add("emqx_packets_sent", "counter", .perNode, sent + packetsConnect + Double(uptimeSeconds / 30) * live)
        add("emqx_packets_connect", "counter", .perNode, packetsConnect)
        add("emqx_packets_connack_sent", "counter", .perNode, packetsConnect)
        add("emqx_packets_connack_error", "counter", .perNode, 0)
        add("emqx_packets_publish_received", "counter", .perNode, received)
        add("emqx_packets_publish_sent", "counter", .perNode, sent)
        add("emqx_packets_pingreq_received", "counter", .perNode, Double(uptimeSeconds / 30) * live)
        add("emqx_packets_pingresp_sent", "counter", .perNode, Double(uptimeSeconds / 30) * live)
        add("emqx_packets_disconnect_received", "counter", .perNode, disconnected - Double(c.evicted))
        add("emqx_packets_disconnect_sent", "counter", .perNode, Double(c.evicted))
        // messages
        add("emqx_messages_received", "counter", .perNode, received)
        add("emqx_messages_sent", "counter", .perNode, sent)
        add("emqx_messages_publish", "counter", .perNode, received)
        add("emqx_messages_dropped", "counter", .perNode, 0)
        add("emqx_messages_delivered", "counter", .perNode, sent)
        add("emqx_messages_acked", "counter", .perNode, sent / 2)
        // delivery
        add("emqx_delivery_dropped", "counter", .perNode, 0)
        // client
        add("emqx_client_connect", "counter", .perNode, packetsConnect)
        add("emqx_client_connack", "counter", .perNode, packetsConnect)
        add("emqx_client_connected", "counter", .perNode, packetsConnect)
        add("emqx_client_authenticate", "counter", .perNode, packetsConnect)
        add("emqx_client_auth_anonymous", "counter", .perNode, 0)
        add("emqx_client_authorize", "counter", .perNode, packetsConnect * 2 + received)
        add("emqx_client_subscribe", "counter", .perNode, packetsConnect * 2)
        add("emqx_client_unsubscribe", "counter", .perNode, 0)
        add("emqx_client_disconnected", "counter", .perNode, disconnected)
        families.append(
            Family(
                name: "emqx_client_disconnected_reason",
                type: "counter",
                scope: .perNode,
                samples: [
                    Sample(
                        labels: [("listener_type", "tcp"), ("listener_name", "default"), ("reason", "tcp_closed")],
                        value: disconnected - Double(c.evicted)
                    ),
                    Sample(
                        labels: [("listener_type", "tcp"), ("listener_name", "default"), ("reason", "kicked")],
                        value: Double(c.evicted)
                    ),
                ]
            )
        )
        // session
        add("emqx_session_created", "counter", .perNode, Double(c.sessionCreated))
        add("emqx_session_resumed", "counter", .perNode, Double(c.sessionResumed))
        add("emqx_session_takenover", "counter", .perNode, Double(c.sessionTakenover))
        add("emqx_session_discarded", "counter", .perNode, Double(c.sessionDiscarded))
        add("emqx_session_terminated", "counter", .perNode, Double(c.sessionTerminated))
        // authorization, authentication
        add("emqx_authorization_allow", "counter", .perNode, packetsConnect * 2 + received)
        add("emqx_authorization_deny", "counter", .perNode, 0)
        add("emqx_authentication_success", "counter", .perNode, packetsConnect)
        add("emqx_authentication_success_anonymous", "counter", .perNode, 0)
        add("emqx_authentication_failure", "counter", .perNode, 0)
        // cluster rpc, mria
        add("emqx_conf_sync_txid", "gauge", .nodeLabelled, 12)
        let shard = [("shard", "emqx_common_shard")]
        families.append(
            Family(
                name: "emqx_mria_replicants",
                type: "gauge",
                scope: .nodeLabelled,
                samples: node.role == .core
                    ? [
                        Sample(
                            labels: shard,
                            value: Double(model.nodes.filter { $0.role == .replicant && $0.isRunning }.count)
                        )
                    ] : [],
                nodeLabelLast: true
            )
        )
        families.append(
            Family(
                name: "emqx_mria_lag",
                type: "gauge",
                scope: .nodeLabelled,
                samples: node.role == .replicant ? [Sample(labels: shard, value: 0)] : [],
                nodeLabelLast: true
            )
        )
        // Enterprise license
        add("emqx_license_expiry_at", "gauge", .clusterConsistent, 1_924_905_600)
        return families
    }

    // MARK: EMQX 4.4

    static func emqx44(model: EMQXClusterModel, node: SimulatedEMQXNode) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ samples: [([(String, String)], Double)]) {
            out += "# TYPE \(name) \(type)\n"
            for sample in samples { out += line(name, sample.0, sample.1) }
        }
        let uptimeMilliseconds = Double(node.uptime(at: model.now).map { $0 / .milliseconds(1) } ?? 0)
        let live = Double(node.liveConnections)
        family("erlang_vm_process_count", "gauge", [([], 2_000 + live * 2)])
        family("erlang_vm_process_limit", "gauge", [([], 2_097_152)])
        family("erlang_vm_statistics_run_queues_length_total", "gauge", [([], 0)])
        family("erlang_vm_statistics_runtime_milliseconds", "counter", [([], (uptimeMilliseconds * 0.3).rounded())])
        family("erlang_vm_statistics_wallclock_time_milliseconds", "counter", [([], uptimeMilliseconds)])
        family(
            "erlang_vm_memory_bytes_total",
            "gauge",
            [
                ([("kind", "system")], 400_000_000),
                ([("kind", "processes")], 800_000_000 + live * 65_536),
            ]
        )
        for sample in emqx44Samples(model: model, node: node) {
            family(sample.name, sample.type, [([], sample.value)])
        }
        return out + "\n"
    }

    static func emqx44Samples(
        model: EMQXClusterModel,
        node: SimulatedEMQXNode
    ) -> [(group: String, name: String, type: String, value: Double)] {
        let c = node.counters
        let sessions = Double(node.sessions)
        let clusterSessions = Double(model.nodes.filter(\.isRunning).reduce(0) { $0 + $1.sessions })
        let cpu = min(95.0, 2.0 + Double(node.liveConnections) / 500.0)
        return [
            ("stats", "emqx_connections_count", "gauge", Double(node.connections)),
            ("stats", "emqx_connections_max", "gauge", Double(max(node.sessionsMax, node.connections))),
            ("stats", "emqx_live_connections_count", "gauge", Double(node.liveConnections)),
            ("stats", "emqx_live_connections_max", "gauge", Double(node.liveConnectionsMax)),
            ("stats", "emqx_sessions_count", "gauge", sessions),
            ("stats", "emqx_sessions_max", "gauge", Double(node.sessionsMax)),
            ("stats", "emqx_topics_count", "gauge", clusterSessions),
            ("stats", "emqx_topics_max", "gauge", clusterSessions),
            ("stats", "emqx_subscriptions_count", "gauge", sessions * 2),
            ("stats", "emqx_subscriptions_max", "gauge", Double(node.sessionsMax * 2)),
            ("stats", "emqx_routes_count", "gauge", clusterSessions),
            ("stats", "emqx_routes_max", "gauge", clusterSessions),
            ("stats", "emqx_retained_count", "gauge", 3),
            ("stats", "emqx_retained_max", "gauge", 3),
            ("vm", "emqx_vm_cpu_use", "gauge", cpu),
            ("vm", "emqx_vm_cpu_idle", "gauge", 100 - cpu),
            ("vm", "emqx_vm_run_queue", "gauge", 0),
            ("vm", "emqx_vm_process_messages_in_queues", "gauge", 0),
            ("vm", "emqx_vm_total_memory", "gauge", 8_331_776_000),
            ("vm", "emqx_vm_used_memory", "gauge", 1_200_000_000 + Double(node.liveConnections) * 65_536),
            ("cluster", "emqx_cluster_nodes_running", "gauge", Double(model.nodes.filter(\.isRunning).count)),
            ("cluster", "emqx_cluster_nodes_stopped", "gauge", Double(model.nodes.filter { !$0.isRunning }.count)),
            ("packets", "emqx_packets_connect", "counter", Double(c.clientConnected)),
            ("packets", "emqx_packets_connack_sent", "counter", Double(c.clientConnected)),
            ("packets", "emqx_packets_publish_received", "counter", Double(c.messagesReceived)),
            ("packets", "emqx_packets_publish_sent", "counter", Double(c.messagesSent)),
            ("packets", "emqx_packets_disconnect_sent", "counter", Double(c.evicted)),
            ("messages", "emqx_messages_received", "counter", Double(c.messagesReceived)),
            ("messages", "emqx_messages_sent", "counter", Double(c.messagesSent)),
            ("messages", "emqx_messages_dropped", "counter", 0),
            ("delivery", "emqx_delivery_dropped", "counter", 0),
            ("client", "emqx_client_connected", "counter", Double(c.clientConnected)),
            ("client", "emqx_client_authenticate", "counter", Double(c.clientConnected)),
            ("client", "emqx_client_auth_success_anonymous", "counter", 0),
            ("client", "emqx_client_check_acl", "counter", Double(c.clientConnected * 2 + c.messagesReceived)),
            ("client", "emqx_client_subscribe", "counter", Double(c.clientConnected * 2)),
            ("client", "emqx_client_unsubscribe", "counter", 0),
            ("client", "emqx_client_disconnected", "counter", Double(c.clientDisconnected)),
            ("session", "emqx_session_created", "counter", Double(c.sessionCreated)),
            ("session", "emqx_session_resumed", "counter", Double(c.sessionResumed)),
            ("session", "emqx_session_takeovered", "counter", Double(c.sessionTakenover)),
            ("session", "emqx_session_discarded", "counter", Double(c.sessionDiscarded)),
            ("session", "emqx_session_terminated", "counter", Double(c.sessionTerminated)),
        ]
    }

    /// EMQX 4.4's default `type=json` answer: the same `emqx_*` values grouped as the plugin's collectors group them.
    static func emqx44JSON(model: EMQXClusterModel, node: SimulatedEMQXNode) -> String {
        var groups: [(String, [(String, JSONValue)])] = []
        for sample in emqx44Samples(model: model, node: node) {
            let value: JSONValue =
                sample.value == sample.value.rounded() ? .int(Int(sample.value)) : .double(sample.value)
            if let index = groups.firstIndex(where: { $0.0 == sample.group }) {
                groups[index].1.append((sample.name, value))
            } else {
                groups.append((sample.group, [(sample.name, value)]))
            }
        }
        return JSONValue.object(groups.map { ($0.0, JSONValue.object($0.1)) }).rendered
    }

    // MARK: Lines

    static func line(_ name: String, _ labels: [(String, String)], _ value: Double) -> String {
        var text = name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        return text + " " + format(value) + "\n"
    }

    /// Integers plainly, floats as Erlang's `~p` (shortest round-trip), `undefined` as `NaN`.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
