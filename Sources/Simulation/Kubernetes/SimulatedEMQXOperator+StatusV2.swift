import AutorebalancerCore
import Foundation

/// The status operators 2.3 (`apps.emqx.io/v2`, `api/v2/emqx_types_status.go`) and 3.0 (`apps.emqx.io/v3beta1`,
/// `api/v3beta1/emqx_types_status.go`) write: nodes as `{name, podName, status, otpRelease, version, role, sessions,
/// connections}` where `connections` counts connected clients (EMQX's `live_connections`) and `sessions` EMQX's
/// `connections`; `nodeEvacuations` from `global_status`. On v2 every zero number and empty string is left out
/// (`omitempty`); v3beta1 always writes the counts and replica numbers, adds `coreReplicas`, `replicantReplicas` and
/// their selectors, and its own conditions (`EMQXAPIAvailable`, `…Progressing`, `Available`, `Ready`, `ConfigApplied`,
/// `Paused`).
extension SimulatedEMQXOperator {
    static func emqxStatusV2(
        _ binding: EMQXBinding,
        nodes: [KubernetesJSON],
        pods: [SimulatedPod],
        gates: [String: Bool?],
        evacuations: [KubernetesJSON],
        faults: OperatorFaults,
        v3beta1: Bool
    ) -> KubernetesJSON {
        let readiness = Readiness(binding, nodes: nodes, gates: gates, faults: faults)
        /// A number as the Go type writes it: absent when 0 on v2.
        func number(_ value: Int64) -> KubernetesJSON? { !v3beta1 && value == 0 ? nil : .integer(value) }
        func object(_ members: [(String, KubernetesJSON?)]) -> KubernetesJSON {
            .object(
                Dictionary(
                    members.compactMap { key, value in value.map { (key, $0) } },
                    uniquingKeysWith: { first, _ in first }
                )
            )
        }
        func text(_ value: String?) -> KubernetesJSON? { value.flatMap { $0.isEmpty ? nil : .string($0) } }

        func entry(_ node: KubernetesJSON, role: String) -> KubernetesJSON {
            let name = node["node"]?.stringValue ?? ""
            return object([
                ("name", text(name)), ("podName", text(podName(of: name, pods: pods))),
                ("status", text(node["node_status"]?.stringValue)),
                ("otpRelease", text(node["otp_release"]?.stringValue)), ("version", text(node["version"]?.stringValue)),
                ("role", text(node["role"]?.stringValue ?? role)),
                // EMQX's `connections` counts sessions, its `live_connections` connected clients.
                ("sessions", number(node["connections"]?.intValue ?? 0)),
                ("connections", number(node["live_connections"]?.intValue ?? 0)),
            ])
        }

        let upgrading = readiness.upgrading
        let cores = readiness.core
        let replicants = readiness.replicants
        var status: [String: KubernetesJSON] = [
            "conditions": .array(
                v3beta1
                    ? conditionsV3beta1(readiness, binding: binding, hasNodes: !nodes.isEmpty)
                    : readiness.conditionsV2beta1
            ),
            "coreNodesStatus": object([
                ("readyReplicas", number(Int64(readiness.readyCore))),
                ("updatedReplicas", number(Int64(upgrading ? 0 : cores.count))),
                ("currentReplicas", number(Int64(upgrading ? cores.count : 0))),
            ]),
        ]
        if !cores.isEmpty { status["coreNodes"] = .array(cores.map { entry($0, role: "core") }) }
        if !replicants.isEmpty { status["replicantNodes"] = .array(replicants.map { entry($0, role: "replicant") }) }
        if !replicants.isEmpty || readiness.desiredReplicants > 0 || v3beta1 {
            status["replicantNodesStatus"] = object([
                ("readyReplicas", number(Int64(readiness.readyReplicants))),
                ("currentRevision", text(binding.currentRevision)),
                ("currentReplicas", number(Int64(replicants.count))),
                ("updateRevision", text(binding.updateRevision)),
                ("updateReplicas", number(Int64(upgrading ? 0 : replicants.count))),
            ])
        }
        let evacuating: [KubernetesJSON] = evacuations.map { evacuation in
            object([
                ("nodeName", text(evacuation["node"]?.stringValue)), ("state", text(evacuation["state"]?.stringValue)),
                (
                    "sessionRecipients",
                    evacuation["session_recipients"].flatMap { $0.arrayValue?.isEmpty == false ? $0 : nil }
                ),
                ("sessionEvictionRate", number(evacuation["session_eviction_rate"]?.intValue ?? 0)),
                ("connectionEvictionRate", number(evacuation["connection_eviction_rate"]?.intValue ?? 0)),
                ("initialSessions", number(evacuation.value(atPath: "stats.initial_sessions")?.intValue ?? 0)),
                ("initialConnections", number(evacuation.value(atPath: "stats.initial_connected")?.intValue ?? 0)),
            ])
        }
        if !evacuating.isEmpty { status["nodeEvacuations"] = .array(evacuating) }
        if v3beta1 {
            let selector =
                "apps.emqx.io/instance=\(binding.name),apps.emqx.io/managed-by=emqx-operator,apps.emqx.io/db-role="
            status["coreReplicas"] = .integer(Int64(cores.count))
            status["coreSelector"] = .string(selector + "core")
            status["replicantReplicas"] = .integer(Int64(replicants.count))
            status["replicantSelector"] = .string(selector + "replicant")
        }
        return .object(status)
    }

    /// The pod a node runs in: from the pod list, else (cores) the host part of `emqx@<pod>.<headless service>…`.
    static func podName(of node: String, pods: [SimulatedPod]) -> String? {
        if let pod = pods.first(where: { $0.node == node }) { return pod.name }
        guard let at = node.firstIndex(of: "@") else { return nil }
        let host = node[node.index(after: at)...]
        guard let dot = host.firstIndex(of: "."), host.first?.isLetter == true else { return nil }
        return String(host[..<dot])
    }

    /// 3.0's conditions, each written True or False with a reason (`metav1.Condition`).
    static func conditionsV3beta1(_ readiness: Readiness, binding: EMQXBinding, hasNodes: Bool) -> [KubernetesJSON] {
        func condition(_ type: String, _ value: Bool, _ reason: String, _ message: String) -> KubernetesJSON {
            [
                "type": .string(type), "status": value ? "True" : "False", "reason": .string(reason),
                "message": .string(message),
            ]
        }
        let replicantsProgressing = !readiness.replicantsReady || readiness.upgrading
        let coreProgressing = !readiness.coreReady
        return [
            condition(
                "Ready",
                readiness.ready,
                readiness.ready ? "ClusterReady" : "ClusterNotReady",
                readiness.ready ? "Cluster is ready" : "Cluster is not ready"
            ),
            condition(
                "Available",
                readiness.coreReady,
                readiness.coreReady ? "ClusterAvailable" : "ClusterNotAvailable",
                "Core nodes serve the EMQX API"
            ),
            condition(
                "CoreNodesProgressing",
                coreProgressing,
                coreProgressing ? "CoreNodesProgressing" : "CoreNodesReady",
                "Core nodes: \(readiness.readyCore) of \(readiness.desiredCore) ready"
            ),
            condition(
                "ReplicantNodesProgressing",
                replicantsProgressing,
                replicantsProgressing ? "ReplicantNodesProgressing" : "ReplicantNodesReady",
                "Replicant nodes: \(readiness.readyReplicants) of \(readiness.desiredReplicants) ready"
            ),
            condition(
                "EMQXAPIAvailable",
                hasNodes,
                hasNodes ? "APIAvailable" : "APIUnavailable",
                "EMQX API on the core nodes"
            ),
            condition("ConfigApplied", true, "ConfigApplied", "Configuration applied"),
            // `internal/controller/pause_reconciliation.go`.
            binding.paused
                ? condition("Paused", true, "AnnotationSet", "Reconciliation is paused by the annotation")
                : condition("Paused", false, "AnnotationNotSet", "Reconciliation is active"),
        ]
    }
}
