import AutorebalancerCore
import Foundation

/// The operator's EMQX controller: status from the nodes' API, as `update_emqx_status.go` and the status machine
/// compute it.
extension SimulatedEMQXOperator {
    func refreshEMQX(_ binding: EMQXBinding) async {
        let type = api.resourceType(for: binding.kind)
        let generation = api.operatorGeneration
        let original = binding
        var binding = binding
        // The desired replicas live in the object's spec: `kubectl scale` and HPAs (the scale subresource) write there.
        if let object = api.object(type, namespace: binding.namespace, name: binding.name), binding.kind == .emqx {
            if let cores = object.value(atPath: "spec.coreTemplate.spec.replicas")?.intValue {
                binding.replicas = Int(clamping: cores)
            }
            if let replicants = object.value(atPath: "spec.replicantTemplate.spec.replicas")?.intValue {
                binding.replicantReplicas = Int(clamping: replicants)
            }
        }
        let auth = (binding.username, binding.password)
        var nodes: [KubernetesJSON]?
        for endpoint in binding.endpoints {
            nodes = await fetchNodes(endpoint.baseURL, primary: binding.apiPrefix, auth: auth)
            if nodes != nil { break }
        }
        var gates: [String: Bool?] = [:]
        for endpoint in binding.endpoints {
            // `availability_check` is unauthenticated: 200 → True, other answers → False, no answer → Unknown.
            let url = endpoint.baseURL.appending(path: "\(binding.apiPrefix)/load_rebalance/availability_check")
            if let answer = try? await emqxRequest("GET", url, auth: nil) {
                gates[endpoint.node] = .some(answer.status == 200)
            } else {
                gates[endpoint.node] = .some(nil)
            }
        }
        var evacuations: [KubernetesJSON] = []
        if binding.kind == .emqx, let endpoint = binding.endpoints.first,
            let answer = try? await emqxRequest(
                "GET",
                endpoint.baseURL.appending(path: "/api/v5/load_rebalance/global_status"),
                auth: auth
            ),
            answer.status == 200
        {
            evacuations = answer.body?["evacuations"]?.arrayValue ?? []
        }
        let pods = await reconcilePods(binding, generation: generation, evacuations: evacuations)
        let faults = self.faults
        let date = api.now
        let timestamp = KubernetesTimeText.seconds(date)
        let status: KubernetesJSON
        let nodeList = Self.sortedByUptime(nodes ?? [])
        switch (binding.kind, generation) {
        case (.emqx, .v2_3), (.emqx, .v3_0):
            status = Self.emqxStatusV2(
                binding,
                nodes: nodeList,
                pods: pods,
                gates: gates,
                evacuations: evacuations,
                faults: faults,
                v3beta1: generation == .v3_0
            )
        case (.emqx, _):
            status = Self.emqxStatus(binding, nodes: nodeList, gates: gates, evacuations: evacuations, faults: faults)
        case (.emqxEnterprise, _):
            status = Self.enterpriseStatus(binding, nodes: nodeList, timestamp: timestamp)
        }
        _ = try? api.store.update(type, namespace: binding.namespace, name: binding.name) {
            object throws(KubernetesAPIError) -> KubernetesJSON in
            var object = object
            object["status"] = Self.keepingTransitionTimes(status, old: object["status"], timestamp: timestamp)
            return api.checkedEMQXObject(object, type: type)
        }
        let next = clock.now.advanced(by: configuration.emqxRefreshInterval)
        state.withLock {
            $0.nextRefresh[binding.key] = next
            $0.lastRefreshedBinding[binding.key] = original
            $0.gates[binding.key] = gates
        }
    }

    /// `GET <prefix>/nodes`; EMQX 4 wraps the list in `{"code":0,"data":[…]}`. Falls back to the other API version
    /// when the primary one is not served.
    private func fetchNodes(_ base: URL, primary: String, auth: (String, String)) async -> [KubernetesJSON]? {
        for prefix in [primary, primary == "/api/v5" ? "/api/v4" : "/api/v5"] {
            guard let answer = try? await emqxRequest("GET", base.appending(path: "\(prefix)/nodes"), auth: auth) else {
                return nil
            }
            if answer.status == 404 { continue }
            guard answer.status == 200 else { return nil }
            return answer.body?.arrayValue ?? answer.body?["data"]?.arrayValue
        }
        return nil
    }

    static func sortedByUptime(_ nodes: [KubernetesJSON]) -> [KubernetesJSON] {
        nodes.enumerated().sorted { lhs, rhs in
            let left = lhs.element["uptime"]?.intValue ?? 0
            let right = rhs.element["uptime"]?.intValue ?? 0
            if left != right { return left > right }  // oldest first
            return (lhs.element["node"]?.stringValue ?? "") < (rhs.element["node"]?.stringValue ?? "")
        }.map(\.element)
    }

    /// One `coreNodes`/`replicantNodes` entry of v2beta1 (`api/v2beta1/emqx_types_status.go`): every field
    /// `omitempty`, so a zero count is left out, and `uptime` is `json:"-"` (never written).
    private static func emqxNodeEntry(_ node: KubernetesJSON, defaultRole: String) -> KubernetesJSON {
        var entry: [String: KubernetesJSON] = [:]
        for key in [
            "node", "node_status", "otp_release", "version", "role", "edition", "connections", "live_connections",
        ] {
            if let value = node[key], value != .integer(0), value != .string("") { entry[key] = value }
        }
        if entry["role"] == nil { entry["role"] = .string(defaultRole) }
        let name = node["node"]?.stringValue ?? ""
        entry["podUID"] = .string(stableUID(name))
        return .object(entry)
    }

    /// A stable pseudo pod UID per node name.
    static func stableUID(_ text: String) -> String {
        let hex = String(format: "%016llx", StableHash.fnv1a64(text))
        return
            "\(hex.prefix(8))-\(hex.dropFirst(8).prefix(4))-4\(hex.dropFirst(13).prefix(3))-8\(hex.prefix(3))-\(hex.suffix(12))"
    }

    static func emqxStatus(
        _ binding: EMQXBinding,
        nodes: [KubernetesJSON],
        gates: [String: Bool?],
        evacuations: [KubernetesJSON],
        faults: OperatorFaults
    ) -> KubernetesJSON {
        let readiness = Readiness(binding, nodes: nodes, gates: gates, faults: faults)
        let (core, replicants) = (readiness.core, readiness.replicants)
        let (desiredCore, desiredReplicants) = (readiness.desiredCore, readiness.desiredReplicants)
        let (readyCore, readyReplicants, upgrading) = (
            readiness.readyCore, readiness.readyReplicants, readiness.upgrading
        )
        let conditions = readiness.conditionsV2beta1

        func nodesStatus(desired: Int, ready: Int) -> KubernetesJSON {
            [
                "replicas": .integer(Int64(desired)), "readyReplicas": .integer(Int64(ready)),
                "currentRevision": .string(binding.currentRevision),
                "currentReplicas": .integer(Int64(upgrading ? desired : desired)),
                "updateRevision": .string(binding.updateRevision),
                "updateReplicas": .integer(Int64(upgrading ? 0 : desired)),
            ]
        }
        var status: [String: KubernetesJSON] = [
            "conditions": .array(conditions),
            "coreNodes": .array(core.map { emqxNodeEntry($0, defaultRole: "core") }),
            "coreNodesStatus": nodesStatus(desired: desiredCore, ready: readyCore),
        ]
        if !replicants.isEmpty || desiredReplicants > 0 {
            status["replicantNodes"] = .array(replicants.map { emqxNodeEntry($0, defaultRole: "replicant") })
            status["replicantNodesStatus"] = nodesStatus(desired: desiredReplicants, ready: readyReplicants)
        }
        if !evacuations.isEmpty { status["nodeEvacuationsStatus"] = .array(evacuations) }
        return .object(status)
    }

    static func enterpriseStatus(_ binding: EMQXBinding, nodes: [KubernetesJSON], timestamp: String) -> KubernetesJSON {
        let entries: [KubernetesJSON] = nodes.map { node in
            var entry: [String: KubernetesJSON] = [:]
            for key in ["node", "node_status", "otp_release", "version", "connections"] {
                if let value = node[key] { entry[key] = value }
            }
            if let status = entry["node_status"]?.stringValue, status.lowercased() == "running" {
                entry["node_status"] = "Running"
            }
            return .object(entry)
        }
        let desired = binding.replicas ?? nodes.count
        let runningCount = entries.filter { $0["node_status"]?.stringValue == "Running" }.count
        let upgrading = binding.currentRevision != binding.updateRevision
        let running = !nodes.isEmpty && nodes.count == desired && runningCount == desired && !binding.forcedNotReady
        var conditions: [KubernetesJSON] = [
            running
                ? ["type": "Running", "status": "True", "reason": "ClusterReady", "message": "All resources are ready"]
                : [
                    "type": "Running", "status": "False", "reason": "ClusterNotReady",
                    "message": "Some nodes are not ready",
                ]
        ]
        if upgrading || binding.upgradeStartedAt != nil {
            conditions.insert(
                [
                    "type": "BlueGreenUpdating", "status": "True", "reason": "BlueGreenUpdating",
                    "message": "Blue-green update in progress",
                ],
                at: 0
            )
        }
        var status: [String: KubernetesJSON] = [
            "conditions": .array(conditions), "emqxNodes": .array(entries),
            "replicas": .integer(Int64(desired)), "readyReplicas": .integer(Int64(runningCount)),
            "currentStatefulSetVersion": .string(binding.currentRevision),
        ]
        if upgrading {
            status["blueGreenUpdateStatus"] = [
                "originStatefulSet": .string(
                    "\(binding.name)-\(binding.currentRevision.split(separator: "-").last ?? "")"
                ),
                "currentStatefulSet": .string(
                    "\(binding.name)-\(binding.updateRevision.split(separator: "-").last ?? "")"
                ),
                "startedAt": .string(binding.upgradeStartedAt.map(KubernetesTimeText.seconds) ?? timestamp),
                "evacuationsStatus": [],
            ]
        }
        return .object(status)
    }

    /// Conditions keep `lastTransitionTime` while their status is unchanged; `lastUpdateTime` is the refresh time.
    static func keepingTransitionTimes(
        _ status: KubernetesJSON,
        old: KubernetesJSON?,
        timestamp: String
    ) -> KubernetesJSON {
        var status = status
        let oldConditions = old?["conditions"]?.arrayValue ?? []
        let conditions: [KubernetesJSON] = (status["conditions"]?.arrayValue ?? []).map { condition in
            var condition = condition
            let previous = oldConditions.first { $0["type"] == condition["type"] }
            if let previous, previous["status"] == condition["status"] {
                condition["lastTransitionTime"] = previous["lastTransitionTime"] ?? .string(timestamp)
                condition["lastUpdateTime"] = previous["lastUpdateTime"] ?? .string(timestamp)
            } else {
                condition["lastTransitionTime"] = .string(timestamp)
                condition["lastUpdateTime"] = .string(timestamp)
            }
            return condition
        }
        status["conditions"] = .array(conditions)
        return status
    }

    /// `Ready` (EMQX) / `Running` (EmqxEnterprise) is True.
    static func isReady(_ object: KubernetesJSON, kind: EMQXBinding.Kind) -> Bool {
        let type = kind == .emqx ? "Ready" : "Running"
        return (object.value(atPath: "status.conditions")?.arrayValue ?? []).contains {
            $0["type"]?.stringValue == type && $0["status"]?.stringValue == "True"
        }
    }
}

/// What the operator's status machine concludes from the nodes' API: per role the nodes, desired and ready counts,
/// and whether the cluster is Ready. Shared by every generation's status shape.
struct Readiness {
    var core: [KubernetesJSON]
    var replicants: [KubernetesJSON]
    var desiredCore: Int
    var desiredReplicants: Int
    var readyCore: Int
    var readyReplicants: Int
    var upgrading: Bool
    var coreReady: Bool
    var replicantsReady: Bool
    var ready: Bool

    init(_ binding: EMQXBinding, nodes: [KubernetesJSON], gates: [String: Bool?], faults: OperatorFaults) {
        core = nodes.filter { ($0["role"]?.stringValue ?? "core") == "core" }
        replicants = nodes.filter { $0["role"]?.stringValue == "replicant" }
        func running(_ node: KubernetesJSON) -> Bool { node["node_status"]?.stringValue?.lowercased() == "running" }
        func serving(_ node: KubernetesJSON) -> Bool {
            guard faults.readinessGateRemovesReady, let name = node["node"]?.stringValue, let gate = gates[name] else {
                return true
            }
            return gate == true
        }
        desiredCore = binding.replicas ?? core.count
        desiredReplicants = binding.replicantReplicas ?? replicants.count
        readyCore = core.filter { running($0) && serving($0) }.count
        readyReplicants = replicants.filter { running($0) && serving($0) }.count
        upgrading = binding.currentRevision != binding.updateRevision
        coreReady = !core.isEmpty && core.count == desiredCore && readyCore == desiredCore
        replicantsReady = replicants.count == desiredReplicants && readyReplicants == desiredReplicants
        ready = coreReady && replicantsReady && !upgrading && !binding.forcedNotReady
    }

    /// The condition set of v2beta1 and v2 (`Initialized`, `…Progressing`, `…Ready`, `Available`, `Ready`), True
    /// ones only, as that status machine writes them.
    var conditionsV2beta1: [KubernetesJSON] {
        var conditions: [KubernetesJSON] = []
        func condition(_ type: String, _ reason: String, _ message: String) {
            conditions.append([
                "type": .string(type), "status": "True", "reason": .string(reason), "message": .string(message),
            ])
        }
        if ready {
            condition("Ready", "ClusterReady", "Cluster is ready")
            condition("Available", "ClusterAvailable", "Cluster is available")
            if desiredReplicants > 0 {
                condition("ReplicantNodesReady", "ReplicantNodesReady", "Replicant nodes is ready")
            }
            condition("CoreNodesReady", "CoreNodesReady", "Core nodes is ready")
        } else if coreReady && !core.isEmpty {
            condition("Available", "ClusterAvailable", "Cluster is available")
            if desiredReplicants > 0 {
                condition("ReplicantNodesProgressing", "ReplicantNodesProgressing", "Replicant nodes progressing")
            } else {
                condition("CoreNodesProgressing", "CoreNodesProgressing", "Core nodes progressing")
            }
        } else {
            condition("CoreNodesProgressing", "CoreNodesProgressing", "Core nodes progressing")
        }
        condition("Initialized", "Initialized", "Create EMQX Custom Resource successfully")
        return conditions
    }
}
