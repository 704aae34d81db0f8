/// The three wire formats of the EMQX 5 object (v2beta1, v2, v3beta1) brought to one shape, from which
/// `ClusterReading` computes facts, the rebalanced node set and the counts in one place.
struct EMQX5Status {
    struct Row {
        var name: String
        var podName: String?
        var role: NodeRole
        var status: String?
        var version: String?
        /// Connected clients.
        var live: StatusCount.Verdict
        var sessions: StatusCount.Verdict

        var running: Bool? { status.map { $0.lowercased() == "running" } }
    }

    var hasStatus: Bool
    var ready: Bool?
    var paused: Bool?
    var cores: [Row] = []
    var replicants: [Row] = []
    var upgrading: Bool?
    var notes: [String] = []
    /// Nodes the operator evacuates (`nodeEvacuationsStatus[].node` / `nodeEvacuations[].nodeName`).
    var evacuating: [String] = []
    var wantedCores: Int?
    var wantedReplicants: Int?
    /// Replicas the status says exist (v2beta1 `*NodesStatus.replicas`, v3beta1 `coreReplicas`/`replicantReplicas`),
    /// else the listed nodes.
    var observedCores: Int?
    var observedReplicants: Int?
    var enterprise: Bool?
    /// The count fields' names in this format, for the notes.
    var liveField: String
    var sessionsField: String
    /// When an absent count reads as 0, in words.
    var liveZeroCondition: String
    var sessionsZeroCondition: String

    // MARK: v2beta1 (operator 2.2)

    /// `api/v2beta1/emqx_types_status.go`: `connections` counts sessions, `live_connections` clients (EMQX ≥ 5.1),
    /// both `omitempty`.
    init(v2beta1 resource: EMQXResource) {
        let status = resource.status
        hasStatus = status != nil
        ready = status == nil ? nil : (status?.conditions ?? []).isTrue("Ready")
        liveField = "live_connections"
        sessionsField = "connections (sessions)"
        liveZeroCondition = "running, EMQX ≥ 5.1"
        sessionsZeroCondition = "running, EMQX 5"
        compareRevisions("core", status?.coreNodesStatus)
        compareRevisions("replicant", status?.replicantNodesStatus)
        evacuating = (status?.nodeEvacuationsStatus ?? []).compactMap(\.node)
        wantedCores = resource.spec?.coreTemplate?.spec?.replicas
        wantedReplicants = resource.spec?.replicantTemplate?.spec?.replicas
        // 2.2 writes the *desired* count into `*NodesStatus.replicas` (`update_emqx_status.go`): the nodes listed are
        // what exists.
        observedCores = Self.larger(status?.coreNodesStatus?.replicas, status?.coreNodes?.count)
        observedReplicants = Self.larger(status?.replicantNodesStatus?.replicas, status?.replicantNodes?.count)
        func row(_ node: EMQXResource.Node, _ role: NodeRole) -> Row {
            let running = node.nodeStatus?.lowercased() == "running"
            let version = StatusCount.majorMinor(node.version)
            let live = StatusCount.read(
                node.liveConnections.map(Int64.init),
                absentMeansZero: running && version.map { $0.major > 5 || ($0.major == 5 && $0.minor >= 1) } == true,
                whyUnknown: Self.whyUnknown(
                    running: running,
                    status: node.nodeStatus,
                    version: node.version,
                    since: "5.1"
                )
            )
            let sessions = StatusCount.read(
                node.connections.map(Int64.init),
                absentMeansZero: running && (version?.major ?? 0) >= 5,
                whyUnknown: Self.whyUnknown(
                    running: running,
                    status: node.nodeStatus,
                    version: node.version,
                    since: nil
                )
            )
            return Row(
                name: node.node,
                podName: nil,
                role: role,
                status: node.nodeStatus,
                version: node.version,
                live: live,
                sessions: sessions
            )
        }
        cores = (status?.coreNodes ?? []).map { row($0, .core) }
        replicants = (status?.replicantNodes ?? []).map { row($0, .replicant) }
        let all = (status?.coreNodes ?? []) + (status?.replicantNodes ?? [])
        let editions = all.compactMap(\.edition)
        if !editions.isEmpty, editions.count == all.count { enterprise = editions.allSatisfy { $0 == "Enterprise" } }
    }

    // MARK: v2 (operator 2.3) and v3beta1 (operator 3.0)

    /// `api/v2/emqx_types_status.go`, `api/v3beta1/emqx_types_status.go`: `connections` counts clients, `sessions`
    /// sessions; `omitempty` on v2, always written on v3beta1. No edition: EMQX 5.9+ reports itself as Enterprise.
    init(_ resource: EMQXResourceV2, version: EMQXObjectVersion) {
        let status = resource.status
        let conditions = status?.conditions ?? []
        hasStatus = status != nil
        ready = status == nil ? nil : conditions.isTrue("Ready")
        // `internal/controller/pause_reconciliation.go`: condition Paused True while reconciliation is paused.
        paused = version == .v3beta1 && status != nil ? conditions.isTrue("Paused") : nil
        liveField = "connections (clients)"
        sessionsField = "sessions"
        liveZeroCondition = "running"
        sessionsZeroCondition = "running"
        let omitsZero = version == .v2
        if let core = status?.coreNodesStatus {
            // "Number of replicas still running the previous pod template": non-zero while cores roll.
            let previous = core.currentReplicas ?? (omitsZero ? 0 : nil)
            if let previous {
                upgrading = previous > 0
                if previous > 0 { notes.append("\(previous) core node(s) still run the previous pod template") }
            }
        }
        compareRevisions("replicant", status?.replicantNodesStatus)
        evacuating = (status?.nodeEvacuations ?? []).compactMap(\.nodeName)
        wantedCores = resource.spec?.coreTemplate?.spec?.replicas
        wantedReplicants = resource.spec?.replicantTemplate?.spec?.replicas
        observedCores = status?.coreReplicas ?? status?.coreNodes.map(\.count)
        observedReplicants = status?.replicantReplicas ?? status?.replicantNodes.map(\.count)
        func row(_ node: EMQXResourceV2.Node, _ role: NodeRole) -> Row {
            let running = node.status?.lowercased() == "running"
            func why() -> String {
                omitsZero
                    ? Self.whyUnknown(running: running, status: node.status, version: node.version, since: nil)
                    : "v3beta1 always writes it"
            }
            return Row(
                name: node.name,
                podName: node.podName,
                role: role,
                status: node.status,
                version: node.version,
                live: StatusCount.read(node.connections, absentMeansZero: omitsZero && running, whyUnknown: why()),
                sessions: StatusCount.read(node.sessions, absentMeansZero: omitsZero && running, whyUnknown: why())
            )
        }
        cores = (status?.coreNodes ?? []).map { row($0, .core) }
        replicants = (status?.replicantNodes ?? []).map { row($0, .replicant) }
        // Operators 2.3 and 3.0 support EMQX 5.9+ only, which always reports itself as Enterprise.
        enterprise = status == nil ? nil : true
    }

    /// An update is in progress while a set's `updateRevision` differs from its `currentRevision`.
    mutating func compareRevisions(_ label: String, _ nodes: EMQXResource.NodesStatus?) {
        guard let nodes, let update = nodes.updateRevision, let current = nodes.currentRevision else { return }
        if update != current {
            upgrading = true
            notes.append("\(label) updateRevision \(update) != currentRevision \(current)")
        } else if upgrading == nil {
            upgrading = false
        }
    }

    static func larger(_ a: Int?, _ b: Int?) -> Int? {
        guard let a else { return b }
        guard let b else { return a }
        return max(a, b)
    }

    static func whyUnknown(running: Bool, status: String?, version: String?, since: String?) -> String {
        if !running { return "node is \(status ?? "of unknown status")" }
        guard let version else { return "EMQX version unknown" }
        guard let since else { return "EMQX \(version) is not a version the agent knows" }
        return StatusCount.majorMinor(version) == nil
            ? "EMQX version \(version) not understood" : "EMQX \(version) is older than \(since)"
    }

    // MARK: Reading

    func reading(pods: [Pod]?) -> ClusterReading {
        var notes = self.notes
        let rebalancedRole: NodeRole = !replicants.isEmpty || (wantedReplicants ?? 0) > 0 ? .replicant : .core
        let rows = rebalancedRole == .replicant ? replicants : cores

        // Nodes being removed: evacuated, or their pod is marked/terminating.
        var removed = Set(evacuating)
        var podsBeingRemoved: [String]?
        if let pods {
            let leaving = pods.filter(\.isBeingRemoved)
            podsBeingRemoved = leaving.compactMap(\.metadata.name).sorted()
            for pod in leaving {
                for row in cores + replicants where Self.row(row, runsIn: pod) { removed.insert(row.name) }
            }
        }
        for name in removed.sorted() { notes.append("node \(name) is being removed: left out of the rebalanced set") }

        var scalingIn: Bool? = hasStatus ? false : nil
        for (label, wanted, observed) in [
            ("core", wantedCores, observedCores), ("replicant", wantedReplicants, observedReplicants),
        ] {
            if let wanted, let observed, wanted < observed {
                scalingIn = true
                notes.append("\(label) replicas shrinking: spec \(wanted) < status \(observed)")
            }
        }
        for row in cores + replicants where row.running == false {
            scalingIn = true
            notes.append("node \(row.name) is \(row.status ?? "")")
        }

        var pending: NodesPending?
        if let wanted = rebalancedRole == .replicant ? wantedReplicants : wantedCores, hasStatus {
            let running = rows.filter { $0.running == true && !removed.contains($0.name) }.count
            pending = NodesPending(wanted: wanted, running: running, role: rebalancedRole)
            if let pending, pending.count > 0 {
                notes.append(
                    "\(pending.count) \(rebalancedRole.rawValue) node(s) not running yet: spec wants \(wanted), \(running) running"
                )
            }
        }

        let kept = rows.filter { !removed.contains($0.name) }
        var liveNotes = StatusCount.Notes()
        var sessionNotes = StatusCount.Notes()
        for row in kept {
            liveNotes.record(row.live, node: row.name)
            sessionNotes.record(row.sessions, node: row.name)
        }
        let facts = ClusterFacts(
            ready: ready,
            upgrading: upgrading,
            evacuating: hasStatus ? !evacuating.isEmpty : nil,
            scalingIn: scalingIn,
            enterprise: enterprise,
            operatorPaused: paused,
            podsBeingRemoved: podsBeingRemoved,
            nodesPending: pending
        )
        return ClusterReading(
            facts: facts,
            expectedNodes: kept.map { ExpectedNode(name: $0.name, role: $0.role, podName: $0.podName) },
            nodes: kept.map { row in
                NodeObservation(
                    name: row.name,
                    role: row.role,
                    running: row.running,
                    liveConnections: row.live.number,
                    sessions: row.sessions.number
                )
            },
            notes: notes,
            countNotes: liveNotes.lines(field: liveField, zeroCondition: liveZeroCondition)
                + sessionNotes.lines(field: sessionsField, zeroCondition: sessionsZeroCondition),
            emqxVersions: Set((cores + replicants).compactMap(\.version)).sorted()
        )
    }

    /// Whether a node runs in a pod: the status names the pod (2.3, 3.0), or the node's host is the pod's DNS name
    /// (`emqx@<pod>.<headless service>…`, cores) or its IP (`emqx@<pod IP>`, replicants).
    static func row(_ row: Row, runsIn pod: Pod) -> Bool {
        guard let podName = pod.metadata.name else { return false }
        if let name = row.podName { return name == podName }
        guard let at = row.name.firstIndex(of: "@") else { return false }
        let host = row.name[row.name.index(after: at)...]
        if host.hasPrefix(podName + ".") { return true }
        if let ip = pod.status?.podIP, !ip.isEmpty { return host == ip }
        return false
    }
}
