import AutorebalancerCore
import Foundation

/// The operator's pod handling, for EMQX objects with an `EMQXPodControl`: the spec's replicas (written by
/// `kubectl scale` or an HPA through the scale subresource) start new nodes after `podStartDelay`, one
/// `podStartStagger` apart, and remove surplus ones. A surplus replicant is first evacuated through EMQX's API, one at
/// a time, and leaves once its evacuation is done; 3.0 also marks its pod `apps.emqx.io/scaling-down`
/// (`api/v3beta1/const.go`). Surplus cores leave at once. The pods are mirrored as `v1` `Pod` objects.
extension SimulatedEMQXOperator {
    func reconcilePods(
        _ binding: EMQXBinding,
        generation: OperatorGeneration,
        evacuations: [KubernetesJSON]
    ) async -> [SimulatedPod] {
        guard let control = api.podControl(binding.key) else { return [] }
        if binding.kind == .emqx, !binding.paused {
            for (role, wanted) in [(NodeRole.core, binding.replicas), (NodeRole.replicant, binding.replicantReplicas)] {
                guard let wanted else { continue }
                await scale(binding, role: role, to: wanted, control: control, evacuate: role == .replicant)
            }
            finishEvacuations(binding, evacuations: evacuations, control: control)
        }
        let pods = control.pods()
        writePodObjects(binding, pods: pods, marksScalingDown: generation == .v3_0)
        return pods
    }

    private func scale(
        _ binding: EMQXBinding,
        role: NodeRole,
        to wanted: Int,
        control: EMQXPodControl,
        evacuate: Bool
    ) async {
        let now = clock.now
        let key = binding.key
        let members = control.pods().filter { $0.role == role }
        let leaving = state.withLock { Set(($0.removing[key] ?? [:]).keys) }
        let staying = members.filter { !leaving.contains($0.node) }
        // Pods whose time has come join the cluster.
        let due = state.withLock { state -> Int in
            var pending = state.pendingStarts[key] ?? []
            let ready = pending.filter { $0.role == role && $0.at <= now }.count
            pending.removeAll { $0.role == role && $0.at <= now }
            state.pendingStarts[key] = pending
            return ready
        }
        if due > 0 { control.add(role, due) }
        let pendingCount = state.withLock { ($0.pendingStarts[key] ?? []).filter { $0.role == role }.count }
        let planned = staying.count + due + pendingCount
        if wanted > planned {
            let starts = (0..<(wanted - planned)).map { index in
                (
                    role: role,
                    at: now.advanced(
                        by: configuration.podStartDelay + configuration.podStartStagger * (pendingCount + index)
                    )
                )
            }
            state.withLock { $0.pendingStarts[key, default: []] += starts }
        } else if wanted < planned {
            // Pods not started yet are cancelled first, the newest first.
            var surplus = planned - wanted
            state.withLock { state in
                var pending = state.pendingStarts[key] ?? []
                while surplus > 0, let last = pending.lastIndex(where: { $0.role == role }) {
                    pending.remove(at: last)
                    surplus -= 1
                }
                state.pendingStarts[key] = pending
            }
            guard surplus > 0,
                let newest = control.pods().filter({ $0.role == role && !leaving.contains($0.node) }).last
            else { return }
            if evacuate {
                guard leaving.isEmpty else { return }  // one evacuation at a time (maxUnavailable 1)
                state.withLock { $0.removing[key, default: [:]][newest.node] = newest.name }
                await startEvacuation(
                    of: newest.node,
                    binding: binding,
                    recipients: staying.filter { $0.node != newest.node }.map(\.node)
                )
            } else {
                control.removeNewest(role)
            }
        }
    }

    /// `POST /api/v5/load_rebalance/<node>/evacuation/start` with the evacuation strategy.
    private func startEvacuation(of node: String, binding: EMQXBinding, recipients: [String]) async {
        guard let endpoint = binding.endpoints.first else { return }
        let strategy = configuration.evacuation
        let body: KubernetesJSON = [
            "conn_evict_rate": .integer(Int64(strategy.connectionEvictionRate)),
            "sess_evict_rate": .integer(Int64(strategy.sessionEvictionRate)),
            "wait_takeover": .integer(Int64(strategy.waitTakeover)),
            "wait_health_check": .integer(Int64(strategy.waitHealthCheck)),
            "migrate_to": .array(recipients.map { .string($0) }),
        ]
        let url = endpoint.baseURL.appending(path: "/api/v5/load_rebalance/\(node)/evacuation/start")
        _ = try? await emqxRequest("POST", url, body: body, auth: (binding.username, binding.password))
    }

    /// A node whose evacuation is done (`prohibiting`: nothing left to evict) leaves the cluster with its pod.
    private func finishEvacuations(_ binding: EMQXBinding, evacuations: [KubernetesJSON], control: EMQXPodControl) {
        let removing = state.withLock { $0.removing[binding.key] ?? [:] }
        for node in removing.keys.sorted() {
            let evacuation = evacuations.first { $0["node"]?.stringValue == node }
            let present = control.pods().contains { $0.node == node }
            guard !present || evacuation?["state"]?.stringValue == "prohibiting" else { continue }
            if present { control.removeNewest(.replicant) }
            _ = state.withLock { $0.removing[binding.key]?.removeValue(forKey: node) }
        }
    }

    /// Mirrors the cluster's pods as `Pod` objects (labels of `api/v3beta1/const.go`), writing only what changed.
    private func writePodObjects(_ binding: EMQXBinding, pods: [SimulatedPod], marksScalingDown: Bool) {
        let removing = state.withLock { $0.removing[binding.key] ?? [:] }
        var documents: [String: KubernetesJSON] = [:]
        for pod in pods {
            var metadata: [String: KubernetesJSON] = [
                "name": .string(pod.name), "namespace": .string(binding.namespace),
                "labels": [
                    Pod.instanceLabel: .string(binding.name), "apps.emqx.io/managed-by": "emqx-operator",
                    "apps.emqx.io/db-role": .string(pod.role.rawValue),
                ],
            ]
            if marksScalingDown, removing[pod.node] != nil {
                metadata["annotations"] = [Pod.scalingDownAnnotation: "true"]
            }
            documents[pod.name] = [
                "apiVersion": "v1", "kind": "Pod", "metadata": .object(metadata),
                "status": [
                    "phase": pod.running ? "Running" : "Pending", "podIP": .string(pod.ip),
                    "conditions": [["type": "Ready", "status": pod.running ? "True" : "False"]],
                ],
            ]
        }
        let previous = state.withLock { state -> [String: KubernetesJSON] in
            defer { state.podObjects[binding.key] = documents }
            return state.podObjects[binding.key] ?? [:]
        }
        for (name, document) in documents where previous[name] != document {
            api.putObject(.pods, namespace: binding.namespace, document)
        }
        for name in previous.keys where documents[name] == nil {
            api.removeObject(.pods, namespace: binding.namespace, name: name)
        }
    }
}
