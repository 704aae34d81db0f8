import Foundation

/// An EMQX custom resource served by the simulated API server and bound to the (simulated) EMQX nodes it describes.
/// The operator's EMQX controller fills its status from the nodes' HTTP API, as the real one does from the pods.
public struct EMQXBinding: Sendable, Hashable {
    /// Which custom resource represents the cluster.
    public enum Kind: String, Sendable, Hashable {
        /// `apps.emqx.io/v2beta1` `EMQX` (EMQX 5): status from `/api/v5/nodes`, `Ready` condition.
        case emqx = "EMQX"
        /// `apps.emqx.io/v1beta4` `EmqxEnterprise` (EMQX 4.4): status from `/api/v4/nodes`, `Running` condition.
        case emqxEnterprise = "EmqxEnterprise"

        /// The operator's name for the kind in messages (`EMQX <n> is not found`, `EMQX Enterprise <n> …`).
        var displayName: String { self == .emqx ? "EMQX" : "EMQX Enterprise" }
    }

    /// One EMQX node (a pod) and where its HTTP API answers.
    public struct NodeEndpoint: Sendable, Hashable {
        /// The EMQX node name (`emqx-ee@emqx-ee-0.emqx-ee-headless.default.svc.cluster.local`).
        public var node: String
        /// The node's API base URL (`http://127.0.0.1:PORT`): dashboard port for EMQX 5, 8081 for EMQX 4.
        public var baseURL: URL

        public init(node: String, baseURL: URL) {
            self.node = node
            self.baseURL = baseURL
        }
    }

    public var kind: Kind
    public var namespace: String
    public var name: String
    /// The nodes' API endpoints; the operator's requests go to the first one whose pod is serving.
    public var endpoints: [NodeEndpoint]
    /// Basic-auth credentials (`emqx-operator-controller` + the bootstrap API key for EMQX 5;
    /// `emqx_operator_controller` + the bootstrap user's password for EMQX 4).
    public var username: String
    public var password: String
    /// Desired replicas: core nodes (EMQX 5) or all nodes (EMQX 4). `nil`: as many as the API reports.
    public var replicas: Int?
    /// Desired replicant nodes (EMQX 5); `nil`: as many as the API reports.
    public var replicantReplicas: Int?
    /// StatefulSet/ReplicaSet revisions; they differ while an upgrade runs.
    public var currentRevision: String
    public var updateRevision: String
    /// When the running upgrade started (EMQX 4 `blueGreenUpdateStatus.startedAt`).
    public var upgradeStartedAt: Date?
    /// Scenario switch: the cluster is reported not ready whatever the nodes say.
    public var forcedNotReady: Bool
    /// Scenario switch: the operator's reconciliation is paused (3.0 reports condition `Paused` True and leaves the
    /// pods alone).
    public var paused = false
    /// Image written into the object's spec.
    public var image: String

    public init(
        kind: Kind,
        namespace: String = "default",
        name: String,
        endpoints: [NodeEndpoint],
        username: String? = nil,
        password: String = "public",
        replicas: Int? = nil,
        replicantReplicas: Int? = nil,
        image: String? = nil
    ) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.endpoints = endpoints
        self.username = username ?? (kind == .emqx ? "emqx-operator-controller" : "emqx_operator_controller")
        self.password = password
        self.replicas = replicas
        self.replicantReplicas = replicantReplicas
        self.currentRevision = "\(name)-6b5f8d7c9f"
        self.updateRevision = currentRevision
        self.forcedNotReady = false
        self.image = image ?? (kind == .emqx ? "emqx/emqx-enterprise:5.8.6" : "emqx/emqx-ee:4.4.24")
    }

    /// Binds to endpoints given as node name → base URL (as a simulated EMQX cluster lists them); the first
    /// endpoint, the operator's requester, is the first node name in order.
    public init(
        kind: Kind,
        namespace: String = "default",
        name: String,
        endpoints: [String: URL],
        username: String? = nil,
        password: String = "public",
        replicas: Int? = nil,
        replicantReplicas: Int? = nil,
        image: String? = nil
    ) {
        self.init(
            kind: kind,
            namespace: namespace,
            name: name,
            endpoints: endpoints.sorted { $0.key < $1.key }.map { NodeEndpoint(node: $0.key, baseURL: $0.value) },
            username: username,
            password: password,
            replicas: replicas,
            replicantReplicas: replicantReplicas,
            image: image
        )
    }

    var key: String { "\(namespace)/\(name)" }
    /// The REST API prefix the operator uses for this kind.
    var apiPrefix: String { kind == .emqx ? "/api/v5" : "/api/v4" }

    /// The object as first stored, at the version `type` serves: spec from the binding, status empty (absent on
    /// v2/v3beta1, whose status has required fields) until the operator's first refresh.
    func initialObject(_ type: ResourceType) -> KubernetesJSON {
        var spec: KubernetesJSON = ["image": .string(image)]
        switch kind {
        case .emqx:
            if let replicas { spec["coreTemplate"] = ["spec": ["replicas": .integer(Int64(replicas))]] }
            if let replicantReplicas {
                spec["replicantTemplate"] = ["spec": ["replicas": .integer(Int64(replicantReplicas))]]
            }
        case .emqxEnterprise:
            if let replicas { spec["replicas"] = .integer(Int64(replicas)) }
        }
        var object: KubernetesJSON = [
            "apiVersion": .string(type.apiVersion), "kind": .string(kind.rawValue),
            "metadata": [
                "name": .string(name), "namespace": .string(namespace),
                "labels": ["apps.emqx.io/instance": .string(name)],
            ],
            "spec": spec,
        ]
        if type.version == "v2beta1" || type.version == "v1beta4" { object["status"] = [:] }
        return object
    }
}

extension SimulatedKubernetesAPI {
    /// Adds an EMQX object bound to its nodes' endpoints. Its status is filled by `SimulatedEMQXOperator`.
    public func addEMQX(_ binding: EMQXBinding) {
        emqx.withLock { $0[binding.key] = binding }
        let type = resourceType(for: binding.kind)
        store.put(
            type,
            namespace: binding.namespace,
            object: checkedEMQXObject(binding.initialObject(type), type: type)
        )
    }

    /// Scenario: the EMQX object is deleted (Rebalances naming it then fail `… is not found`).
    public func removeEMQX(namespace: String, name: String) {
        guard let binding = emqx.withLock({ $0.removeValue(forKey: "\(namespace)/\(name)") }) else { return }
        store.remove(resourceType(for: binding.kind), namespace: namespace, name: name)
    }

    /// The binding of an EMQX object, if it was added with `addEMQX` (endpoints from its provider, if one is set).
    public func emqxBinding(namespace: String, name: String) -> EMQXBinding? {
        emqx.withLock { $0["\(namespace)/\(name)"] }.map(withProvidedEndpoints)
    }

    /// Makes the operator read the nodes' endpoints from `provider` at every use (node → base URL), so nodes the
    /// simulated cluster adds or restarts on new ports are followed without `setEMQXEndpoints` calls.
    public func setEMQXEndpointProvider(
        namespace: String,
        name: String,
        _ provider: @escaping @Sendable () -> [String: URL]
    ) {
        endpointProviders.withLock { $0["\(namespace)/\(name)"] = provider }
    }

    var emqxBindingList: [EMQXBinding] {
        emqx.withLock { Array($0.values).sorted { $0.key < $1.key } }.map(withProvidedEndpoints)
    }

    private func withProvidedEndpoints(_ binding: EMQXBinding) -> EMQXBinding {
        guard let provider = endpointProviders.withLock({ $0[binding.key] }) else { return binding }
        var binding = binding
        binding.endpoints = provider().sorted { $0.key < $1.key }.map {
            EMQXBinding.NodeEndpoint(node: $0.key, baseURL: $0.value)
        }
        return binding
    }

    /// Changes a binding (scenario calls); the operator's next EMQX refresh reflects it.
    public func updateEMQX(namespace: String, name: String, _ change: (inout EMQXBinding) -> Void) {
        let updated: EMQXBinding? = emqx.withLock { bindings in
            guard var binding = bindings["\(namespace)/\(name)"] else { return nil }
            change(&binding)
            bindings[binding.key] = binding
            return binding
        }
        guard let updated else { return }
        // The desired replicas live in the object's spec, as `kubectl scale` would write them.
        let type = resourceType(for: updated.kind)
        _ = try? store.update(type, namespace: namespace, name: name) {
            object throws(KubernetesAPIError) -> KubernetesJSON in
            var object = object
            object["spec"]?["image"] = .string(updated.image)
            switch updated.kind {
            case .emqx:
                if let replicas = updated.replicas {
                    object["spec"]?["coreTemplate"] = ["spec": ["replicas": .integer(Int64(replicas))]]
                }
                if let replicas = updated.replicantReplicas {
                    object["spec"]?["replicantTemplate"] = ["spec": ["replicas": .integer(Int64(replicas))]]
                }
            case .emqxEnterprise:
                if let replicas = updated.replicas { object["spec"]?["replicas"] = .integer(Int64(replicas)) }
            }
            return object
        }
    }

    /// Scenario: sets the node endpoints (after the simulated cluster added or removed nodes).
    public func setEMQXEndpoints(namespace: String, name: String, _ endpoints: [EMQXBinding.NodeEndpoint]) {
        updateEMQX(namespace: namespace, name: name) { $0.endpoints = endpoints }
    }

    /// Scenario: desired replicas change (scale-out/in). Until the nodes match, the cluster is not Ready/Running.
    public func scaleEMQX(namespace: String, name: String, replicas: Int?, replicantReplicas: Int? = nil) {
        updateEMQX(namespace: namespace, name: name) {
            $0.replicas = replicas
            if let replicantReplicas { $0.replicantReplicas = replicantReplicas }
        }
    }

    /// Scenario: an upgrade starts (new revision; EMQX 5 loses `Ready`, EMQX 4 shows `blueGreenUpdateStatus`).
    public func startEMQXUpgrade(namespace: String, name: String, image: String? = nil) {
        let date = now
        updateEMQX(namespace: namespace, name: name) {
            $0.updateRevision = "\($0.name)-\(String(UInt32.random(in: 0x1000_0000...0xffff_ffff), radix: 16))"
            $0.upgradeStartedAt = date
            if let image { $0.image = image }
        }
    }

    /// Scenario: the running upgrade ends (revisions converge).
    public func finishEMQXUpgrade(namespace: String, name: String) {
        updateEMQX(namespace: namespace, name: name) {
            $0.currentRevision = $0.updateRevision
            $0.upgradeStartedAt = nil
        }
    }

    /// Scenario: pause (or resume) the operator's reconciliation of the cluster.
    public func setEMQXPaused(namespace: String, name: String, _ paused: Bool) {
        updateEMQX(namespace: namespace, name: name) { $0.paused = paused }
    }

    /// Scenario: force the cluster not ready (or clear it).
    public func setEMQXNotReady(namespace: String, name: String, _ notReady: Bool) {
        updateEMQX(namespace: namespace, name: name) { $0.forcedNotReady = notReady }
    }
}
