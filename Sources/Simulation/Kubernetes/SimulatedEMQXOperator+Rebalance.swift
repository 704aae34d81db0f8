import Foundation

/// The operator's Rebalance controller (`controllers/apps/v2beta1/rebalance_controller.go`, 2.2.29).
extension SimulatedEMQXOperator {
    func reconcileRebalance(_ object: KubernetesJSON) async {
        guard let namespace = object.value(atPath: "metadata.namespace")?.stringValue,
            let name = object.value(atPath: "metadata.name")?.stringValue,
            let uid = object.value(atPath: "metadata.uid")?.stringValue
        else { return }
        let deleting = object.value(atPath: "metadata.deletionTimestamp") != nil
        let instanceName = object.value(atPath: "spec.instanceName")?.stringValue ?? ""
        // Anything but "EmqxEnterprise" targets EMQX 5 (rebalance_controller.go:101).
        let kind: EMQXBinding.Kind =
            object.value(atPath: "spec.instanceKind")?.stringValue == "EmqxEnterprise" ? .emqxEnterprise : .emqx
        let phase = object.value(atPath: "status.phase")?.stringValue ?? ""
        markPolled(uid, object)

        guard let target = api.object(api.resourceType(for: kind), namespace: namespace, name: instanceName) else {
            if deleting {
                removeFinalizer(namespace: namespace, name: name, uid: uid)
            } else {
                await setFailed(
                    namespace: namespace,
                    name: name,
                    uid: uid,
                    message: "\(kind.displayName) \(instanceName) is not found"
                )
            }
            return
        }
        guard Self.isReady(target, kind: kind) else {
            // No phase guard (SetFailed): even a Completed Rebalance is rewritten; a deleting one stays Terminating.
            await setFailed(
                namespace: namespace,
                name: name,
                uid: uid,
                message: "\(kind.displayName) \(instanceName) is not ready"
            )
            return
        }
        // 2.2 checks the first core's edition; 2.3 reads a status without `edition` (it supports EMQX 5.9+ only, which is
        // always Enterprise).
        let v2beta1 = api.operatorGeneration != .v2_3
        if kind == .emqx, v2beta1,
            target.value(atPath: "status.coreNodes")?.arrayValue?.first?["edition"]?.stringValue != "Enterprise"
        {
            await setFailed(
                namespace: namespace,
                name: name,
                uid: uid,
                message: "Only enterprise edition can be rebalanced"
            )
            return
        }
        let binding = api.emqxBinding(namespace: namespace, name: instanceName)
        if deleting {
            if phase == "Processing", let binding,
                let coordinator = object.value(atPath: "status.rebalanceStates")?.arrayValue?.first?[
                    "coordinator_node"
                ]?.stringValue,
                let endpoint = requester(binding)
            {
                _ = try? await emqxRequest(
                    "POST",
                    endpoint.appending(path: "\(binding.apiPrefix)/load_rebalance/\(coordinator)/stop"),
                    auth: (binding.username, binding.password)
                )
            }
            removeFinalizer(namespace: namespace, name: name, uid: uid)
            return
        }
        let finalizers = object.value(atPath: "metadata.finalizers")?.arrayValue ?? []
        if !finalizers.contains(.string(Self.finalizer)) {
            write(namespace: namespace, name: name, uid: uid) { object in
                object["metadata"]?["finalizers"] = .array(finalizers + [.string(Self.finalizer)])
            }
        }
        switch phase {
        case "":
            await start(
                namespace: namespace,
                name: name,
                uid: uid,
                object: object,
                target: target,
                kind: kind,
                binding: binding
            )
        case "Processing":
            await poll(namespace: namespace, name: name, uid: uid, binding: binding)
        default:
            break
        }
    }

    private func markPolled(_ uid: String, _ object: KubernetesJSON) {
        let next = clock.now.advanced(by: configuration.rebalancePollInterval)
        let rv = object.value(atPath: "metadata.resourceVersion")?.stringValue
        state.withLock {
            $0.nextPoll[uid] = next
            $0.lastWritten[uid] = rv
        }
    }

    /// The node the operator sends its requests to: EMQX 5 the oldest core pod; EMQX 4 the first pod that is Ready
    /// (its on-serving gate True).
    func requester(_ binding: EMQXBinding) -> URL? {
        switch binding.kind {
        case .emqx:
            return binding.endpoints.first?.baseURL
        case .emqxEnterprise:
            let gates = state.withLock { $0.gates[binding.key] ?? [:] }
            return (binding.endpoints.first { gates[$0.node] == .some(true) } ?? binding.endpoints.first)?.baseURL
        }
    }

    private func start(
        namespace: String,
        name: String,
        uid: String,
        object: KubernetesJSON,
        target: KubernetesJSON,
        kind: EMQXBinding.Kind,
        binding: EMQXBinding?
    ) async {
        let nodes: [String]
        switch kind {
        case .emqx:
            // The node name is `node` in v2beta1, `name` in v2.
            func names(_ path: String) -> [String] {
                (target.value(atPath: path)?.arrayValue ?? []).compactMap {
                    $0["node"]?.stringValue ?? $0["name"]?.stringValue
                }
            }
            let replicants = names("status.replicantNodes")
            nodes = replicants.isEmpty ? names("status.coreNodes") : replicants
        case .emqxEnterprise:
            nodes = (target.value(atPath: "status.emqxNodes")?.arrayValue ?? []).compactMap { $0["node"]?.stringValue }
        }
        let strategy = object.value(atPath: "spec.rebalanceStrategy") ?? [:]
        var body: [String: KubernetesJSON] = ["nodes": .array(nodes.map { .string($0) })]
        for (field, key) in [
            ("connEvictRate", "conn_evict_rate"), ("sessEvictRate", "sess_evict_rate"),
            ("waitTakeover", "wait_takeover"),
            ("waitHealthCheck", "wait_health_check"), ("absConnThreshold", "abs_conn_threshold"),
            ("absSessThreshold", "abs_sess_threshold"),
        ] {
            body[key] = .integer(strategy[field]?.intValue ?? 0)
        }
        for (field, key) in [("relConnThreshold", "rel_conn_threshold"), ("relSessThreshold", "rel_sess_threshold")] {
            if let text = strategy[field]?.stringValue, !text.isEmpty, let value = RebalanceAdmission.parseGoFloat(text)
            {
                body[key] = .number(value)
            }
        }
        let failure: String?
        if let binding, let endpoint = requester(binding), let coordinator = nodes.first {
            let url = endpoint.appending(path: "\(binding.apiPrefix)/load_rebalance/\(coordinator)/start")
            do {
                let answer = try await emqxRequest(
                    "POST",
                    url,
                    body: .object(body),
                    auth: (binding.username, binding.password)
                )
                if answer.status != 200 {
                    failure = "request api failed: \(Self.statusLine(answer.status))"
                } else if answer.body?["code"]?.selectorText == "400" {
                    failure = answer.body?["message"]?.selectorText ?? ""
                } else {
                    failure = nil
                }
            } catch {
                failure = "\(error)"
            }
        } else {
            failure =
                "failed to get API requester: no EMQX node endpoint for \(namespace)/\(kind == .emqx ? "emqx" : "emqxenterprise")"
        }
        if let failure {
            await setFailed(
                namespace: namespace,
                name: name,
                uid: uid,
                message: "Failed to start rebalance: \(failure)"
            )
            return
        }
        let timestamp = KubernetesTimeText.seconds(api.now)
        write(namespace: namespace, name: name, uid: uid) { object in
            var status = object["status"] ?? [:]
            guard (status["phase"]?.stringValue ?? "").isEmpty || status["phase"]?.stringValue == "Processing" else {
                return
            }
            status["phase"] = "Processing"
            if status["startedTime"] == nil { status["startedTime"] = .string(timestamp) }
            status["conditions"] = Self.settingCondition(
                status["conditions"],
                type: "Processing",
                message: nil,
                timestamp: timestamp
            )
            object["status"] = status
        }
    }

    private func poll(namespace: String, name: String, uid: String, binding: EMQXBinding?) async {
        guard let binding, let endpoint = requester(binding) else {
            await setFailed(
                namespace: namespace,
                name: name,
                uid: uid,
                message: "Failed to get rebalance status: failed to get API requester"
            )
            return
        }
        let answer: (status: Int, body: KubernetesJSON?)
        do {
            answer = try await emqxRequest(
                "GET",
                endpoint.appending(path: "\(binding.apiPrefix)/load_rebalance/global_status"),
                auth: (binding.username, binding.password)
            )
        } catch {
            await setFailed(
                namespace: namespace,
                name: name,
                uid: uid,
                message: "Failed to get rebalance status: \(error)"
            )
            return
        }
        guard answer.status == 200 else {
            await setFailed(
                namespace: namespace,
                name: name,
                uid: uid,
                message: "Failed to get rebalance status: request api failed: \(Self.statusLine(answer.status))"
            )
            return
        }
        let entries = Self.rebalanceEntries(answer.body)
        let timestamp = KubernetesTimeText.seconds(api.now)
        if entries.isEmpty {
            write(namespace: namespace, name: name, uid: uid) { object in
                var status = object["status"] ?? [:]
                status["phase"] = "Completed"
                status["completedTime"] = .string(timestamp)
                status["rebalanceStates"] = nil
                status["conditions"] = Self.settingCondition(
                    status["conditions"],
                    type: "Completed",
                    message: nil,
                    timestamp: timestamp
                )
                object["status"] = status
            }
            recordEvent(namespace: namespace, name: name, uid: uid, type: "Normal", message: "rebalance completed")
            return
        }
        let states: [KubernetesJSON] = entries.map { entry in
            var state: [String: KubernetesJSON] = [:]
            for key in [
                "state", "session_eviction_rate", "recipients", "node", "donors", "coordinator_node",
                "connection_eviction_rate",
            ] {
                if let value = entry[key] { state[key] = value }
            }
            return .object(state)
        }
        write(namespace: namespace, name: name, uid: uid) { object in
            object["status"]?["rebalanceStates"] = .array(states)
        }
        recordEvent(namespace: namespace, name: name, uid: uid, type: "Normal", message: "rebalance is processing")
    }

    func setFailed(namespace: String, name: String, uid: String, message: String) async {
        let timestamp = KubernetesTimeText.seconds(api.now)
        var changed = false
        write(namespace: namespace, name: name, uid: uid) { object in
            var status = object["status"] ?? [:]
            let current = (status["conditions"]?.arrayValue ?? []).first { $0["type"]?.stringValue == "Failed" }
            if status["phase"]?.stringValue == "Failed", current?["message"]?.stringValue == message { return }
            changed = true
            status["phase"] = "Failed"
            status["rebalanceStates"] = nil
            status["conditions"] = Self.settingCondition(
                status["conditions"],
                type: "Failed",
                message: message,
                timestamp: timestamp
            )
            object["status"] = status
        }
        if changed {
            recordEvent(namespace: namespace, name: name, uid: uid, type: "Warning", message: "rebalance failed")
        }
    }

    /// `SetCondition`: replace the condition of that type (keeping `lastTransitionTime` if the status is unchanged),
    /// then sort newest `lastUpdateTime` first. Every condition the operator sets has status `True`.
    static func settingCondition(
        _ conditions: KubernetesJSON?,
        type: String,
        message: String?,
        timestamp: String
    ) -> KubernetesJSON {
        var list = conditions?.arrayValue ?? []
        var condition: KubernetesJSON = [
            "type": .string(type), "status": "True", "lastUpdateTime": .string(timestamp),
            "lastTransitionTime": .string(timestamp),
        ]
        if let message { condition["message"] = .string(message) }
        if let index = list.firstIndex(where: { $0["type"]?.stringValue == type }) {
            if list[index]["status"] == "True" {
                condition["lastTransitionTime"] = list[index]["lastTransitionTime"] ?? .string(timestamp)
            }
            list.remove(at: index)
        }
        list.insert(condition, at: 0)
        // Stable sort, newest first (RFC 3339 texts of one format sort as dates).
        let sorted = list.enumerated().sorted { lhs, rhs in
            let left = lhs.element["lastUpdateTime"]?.stringValue ?? ""
            let right = rhs.element["lastUpdateTime"]?.stringValue ?? ""
            return left != right ? left > right : lhs.offset < rhs.offset
        }.map(\.element)
        return .array(sorted)
    }

    private func removeFinalizer(namespace: String, name: String, uid: String) {
        write(namespace: namespace, name: name, uid: uid) { object in
            let finalizers = (object.value(atPath: "metadata.finalizers")?.arrayValue ?? []).filter {
                $0 != .string(Self.finalizer)
            }
            object["metadata"]?["finalizers"] = finalizers.isEmpty ? nil : .array(finalizers)
        }
    }

    /// A write of the operator's own; remembered so it does not count as someone else's change.
    func write(namespace: String, name: String, uid: String, _ change: (inout KubernetesJSON) -> Void) {
        guard
            let result = try? api.store.update(
                .rebalances,
                namespace: namespace,
                name: name,
                { object throws(KubernetesAPIError) -> KubernetesJSON in
                    guard object.value(atPath: "metadata.uid")?.stringValue == uid else { return object }
                    var object = object
                    change(&object)
                    return object
                }
            )
        else { return }
        let rv = result.object.value(atPath: "metadata.resourceVersion")?.stringValue
        state.withLock {
            if result.removed {
                $0.lastWritten.removeValue(forKey: uid)
                $0.nextPoll.removeValue(forKey: uid)
            } else {
                $0.lastWritten[uid] = rv
            }
        }
    }

    /// An Event on the Rebalance (source `rebalance-controller`, reason `Rebalance`); repeats are aggregated into
    /// `count`/`lastTimestamp`, as client-go's recorder does.
    func recordEvent(namespace: String, name: String, uid: String, type: String, message: String) {
        let timestamp = KubernetesTimeText.seconds(api.now)
        let existing = api.objects(.events, namespace: namespace).first {
            $0.value(atPath: "involvedObject.uid")?.stringValue == uid && $0["message"]?.stringValue == message
                && $0["type"]?.stringValue == type
        }
        if let existing, let eventName = existing.value(atPath: "metadata.name")?.stringValue {
            _ = try? api.store.update(.events, namespace: namespace, name: eventName) {
                event throws(KubernetesAPIError) -> KubernetesJSON in
                var event = event
                event["count"] = .integer((event["count"]?.intValue ?? 1) + 1)
                event["lastTimestamp"] = .string(timestamp)
                return event
            }
            return
        }
        let suffix = String(UInt64.random(in: 0x1000_0000_0000_0000...UInt64.max), radix: 16)
        let event: KubernetesJSON = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": .string("\(name).\(suffix)"), "namespace": .string(namespace)],
            "involvedObject": [
                "apiVersion": "apps.emqx.io/v2beta1", "kind": "Rebalance", "name": .string(name),
                "namespace": .string(namespace),
                "uid": .string(uid),
            ],
            "reason": "Rebalance", "message": .string(message), "type": .string(type), "count": 1,
            "firstTimestamp": .string(timestamp), "lastTimestamp": .string(timestamp),
            "source": ["component": "rebalance-controller"], "reportingComponent": "rebalance-controller",
            "reportingInstance": "",
        ]
        _ = try? api.store.create(.events, namespace: namespace, object: event)
    }
}
