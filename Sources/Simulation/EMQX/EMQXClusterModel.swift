import AutorebalancerCore

/// The simulated EMQX cluster as a pure value: nodes, clients, the load balancer in front of them, and EMQX's
/// rebalance and evacuation processes. It moves only when stepped (`advance(to:)`, one tick per simulated second)
/// or when an event or API call is applied, so a given configuration, seed and sequence of calls always yields the
/// same cluster.
///
/// Tick order at each whole simulated second: nodes due back from a restart start; clients waiting for a node
/// reconnect; skew and churn act; expired persistent sessions end; rebalance and evacuation timers fire (evicted
/// clients reconnect through the load balancer at once, so the next tick sees them on their new node).
public struct EMQXClusterModel: Sendable {
    public let configuration: SimulatedEMQXConfiguration
    /// Simulated time since the simulation's origin.
    public private(set) var now: Duration = .zero
    /// Cluster members in node order (cores by ordinal, then replicants by creation).
    public private(set) var nodes: [SimulatedEMQXNode] = []
    /// Running rebalances, oldest first (one per coordinator at most).
    public private(set) var rebalances: [RebalanceProcess] = []
    /// Running evacuations (persisted: they survive a restart of their node).
    public private(set) var evacuations: [EvacuationProcess] = []
    /// Rebalances that ended, oldest first.
    public private(set) var finishedRebalances: [RebalanceOutcome] = []
    /// Clients that found no node to connect to; they retry every tick.
    public private(set) var pendingClients: Int = 0

    private var rng: SplitMix64
    private var balancerCursor = 0
    private var lingering: [LingeringSessions] = []
    private var effects: [ContinuousEffect] = []
    private var scheduledStarts: [String: Duration] = [:]
    private var nextTick: Duration = .seconds(1)
    private var usedIPs: Set<String> = []
    private let podHash: String

    struct LingeringSessions: Sendable, Hashable {
        var node: String
        var count: Int
        var expiresAt: Duration
    }

    enum ContinuousEffect: Sendable, Hashable {
        case skew(node: String, perSecond: Int, until: Duration)
        case churn(perSecond: Int, until: Duration, persistentFraction: Double, expiry: Duration)

        var until: Duration {
            switch self {
            case .skew(_, _, let until), .churn(_, let until, _, _): until
            }
        }
    }

    public init(configuration: SimulatedEMQXConfiguration) {
        self.configuration = configuration
        var rng = SplitMix64(seed: configuration.seed)
        self.podHash = Self.randomToken(length: 9, rng: &rng)
        self.rng = rng
        for spec in configuration.nodes {
            var node = makeNode(role: spec.role)
            node.startedAt = .zero - spec.uptime
            node.liveConnections = spec.liveConnections
            node.disconnectedSessions = spec.disconnectedSessions
            let minutes = Int(spec.uptime / .seconds(60))
            node.counters.clientConnected = spec.liveConnections + minutes * spec.liveConnections / 1440
            node.counters.sessionCreated = node.counters.clientConnected + spec.disconnectedSessions
            node.counters.clientDisconnected = node.counters.clientConnected - spec.liveConnections
            node.counters.sessionTerminated = node.counters.clientDisconnected
            let seconds = min(Int(spec.uptime / .seconds(1)), 3600)
            node.counters.messagesReceived = spec.liveConnections * seconds
            node.counters.messagesSent = spec.liveConnections * seconds
            node.noteHighWater()
            nodes.append(node)
            if spec.disconnectedSessions > 0 {
                lingering.append(
                    LingeringSessions(node: node.name, count: spec.disconnectedSessions, expiresAt: .seconds(7200))
                )
            }
        }
    }

    // MARK: Reading

    /// The node with this name, if it is a cluster member.
    public func node(named name: String) -> SimulatedEMQXNode? {
        nodes.first { $0.name == name }
    }

    /// Every client the cluster serves, connected or waiting to reconnect.
    public var totalClients: Int { nodes.reduce(0) { $0 + $1.liveConnections } + pendingClients }

    /// The running rebalance coordinated by `node`, if any.
    public func rebalance(coordinatedBy node: String) -> RebalanceProcess? {
        rebalances.first { $0.coordinator == node }
    }

    /// The rebalance in which `node` is a donor, if any (what `GET /load_rebalance/status` reports on a donor).
    public func rebalance(withDonor node: String) -> RebalanceProcess? {
        rebalances.first { $0.donors.contains(node) }
    }

    public func evacuation(of node: String) -> EvacuationProcess? {
        evacuations.first { $0.node == node }
    }

    // MARK: Time

    /// Steps simulated time forward to `instant`, running one tick at every whole second passed.
    public mutating func advance(to instant: Duration) {
        while nextTick <= instant {
            now = nextTick
            tick()
            nextTick += .seconds(1)
        }
        if instant > now { now = instant }
    }

    /// Steps simulated time forward by `duration`.
    public mutating func advance(by duration: Duration) {
        advance(to: now + duration)
    }

    private mutating func tick() {
        for (name, at) in scheduledStarts.sorted(by: { $0.key < $1.key }) where at <= now {
            scheduledStarts[name] = nil
            bringUp(name)
        }
        if pendingClients > 0 {
            let waiting = pendingClients
            pendingClients = 0
            connectThroughBalancer(waiting)
        }
        effects.removeAll { $0.until < now }
        for effect in effects {
            switch effect {
            case .skew(let target, let perSecond, _): skew(towards: target, count: perSecond)
            case .churn(let perSecond, _, let fraction, let expiry):
                churn(count: perSecond, persistentFraction: fraction, expiry: expiry)
            }
        }
        expireSessions()
        for coordinator in rebalances.map(\.coordinator) {
            runRebalance(coordinatedBy: coordinator)
        }
        for node in evacuations.map(\.node) {
            runEvacuation(of: node)
        }
        for index in nodes.indices where nodes[index].isRunning {
            nodes[index].counters.messagesReceived += nodes[index].liveConnections
            nodes[index].counters.messagesSent += nodes[index].liveConnections
            nodes[index].noteHighWater()
        }
    }

    // MARK: Events

    /// Applies a scenario event at the current simulated instant.
    public mutating func apply(_ event: EMQXScenarioEvent) throws(EMQXScenarioError) {
        switch event {
        case .scaleOut(let count, let role):
            guard count > 0 else { throw .invalid("scale-out needs a positive node count, got \(count)") }
            for _ in 0..<count {
                var node = makeNode(role: role)
                node.startedAt = now
                nodes.append(node)
            }
        case .scaleIn(let count, let role):
            let members = nodes.filter { $0.role == role }.sorted { $0.ordinal > $1.ordinal }
            guard count > 0, count <= members.count else {
                throw .invalid("scale-in of \(count) \(role.rawValue) node(s) but the cluster has \(members.count)")
            }
            for node in members.prefix(count) { remove(node.name) }
        case .restart(let name, let downtime):
            guard node(named: name) != nil else { throw .unknownNode(name) }
            takeDown(name)
            if downtime > .zero { scheduledStarts[name] = now + downtime } else { bringUp(name) }
        case .stop(let name):
            guard node(named: name) != nil else { throw .unknownNode(name) }
            scheduledStarts[name] = nil
            takeDown(name)
        case .start(let name):
            guard let node = node(named: name) else { throw .unknownNode(name) }
            guard !node.isRunning else { throw .invalid("node \(name) is already running") }
            scheduledStarts[name] = nil
            bringUp(name)
        case .connect(let clients):
            guard clients >= 0 else { throw .invalid("cannot connect \(clients) clients") }
            connectThroughBalancer(clients)
        case .organicSkew(let name, let perSecond, let duration):
            guard node(named: name) != nil else { throw .unknownNode(name) }
            effects.append(.skew(node: name, perSecond: perSecond, until: now + duration))
        case .churn(let perSecond, let duration, let fraction, let expiry):
            guard (0...1).contains(fraction) else {
                throw .invalid("persistentFraction must be within 0...1, got \(fraction)")
            }
            effects.append(
                .churn(perSecond: perSecond, until: now + duration, persistentFraction: fraction, expiry: expiry)
            )
        }
    }

    /// Sets the Kubernetes view of a node's readiness (`nil`: follow `availability_check`), which decides whether the
    /// load balancer sends it clients.
    public mutating func setServiceReadiness(_ ready: Bool?, of name: String) throws(EMQXScenarioError) {
        guard let index = index(of: name) else { throw .unknownNode(name) }
        nodes[index].serviceReadiness = ready
    }

    // MARK: Rebalance API

    /// `POST /load_rebalance/{coordinator}/start`.
    public mutating func startRebalance(coordinator: String, options: RebalanceOptions) throws(RebalanceRequestError) {
        guard let coordinatorNode = node(named: coordinator) else { throw .nodeNotFound(coordinator) }
        guard coordinatorNode.isRunning else { throw .nodeDown(coordinator) }
        try Self.validate(options)
        let names: [String]
        if let requested = options.nodes {
            guard !requested.isEmpty else { throw .badRequest("nodes: must not be empty") }
            let unknown = requested.filter { node(named: $0) == nil }
            guard unknown.isEmpty else { throw .invalidNodes(unknown) }
            names = requested
        } else {
            names = nodes.filter(\.isRunning).map(\.name)
        }
        let unavailable = names.filter { !(node(named: $0)?.isAvailable ?? false) }
        guard unavailable.isEmpty else { throw .unavailableNodes(unavailable) }
        guard rebalance(coordinatedBy: coordinator) == nil else {
            throw .rejected(node: coordinator, reason: "already_started")
        }

        let counts = names.compactMap(node(named:)).map {
            BalanceMath.NodeCounts(
                name: $0.name,
                liveConnections: Double($0.liveConnections),
                sessions: Double($0.sessions)
            )
        }
        let connections = BalanceMath.evaluateConnections(counts, threshold: options.connectionThreshold)
        let sessions = BalanceMath.evaluateSessions(counts, threshold: options.sessionThreshold)
        guard !connections.donors.isEmpty, !connections.recipients.isEmpty,
            BalanceMath.needsRebalance(connections: connections, sessions: sessions)
        else { throw .rejected(node: coordinator, reason: "nothing_to_balance") }

        for donor in connections.donors {
            if let index = index(of: donor) {
                nodes[index].evictionAgent = .rebalance(coordinator: coordinator, allowConnections: true)
            }
        }
        rebalances.append(
            RebalanceProcess(
                coordinator: coordinator,
                state: .waitHealthCheck,
                options: options,
                donors: connections.donors,
                recipients: connections.recipients,
                initialConnections: Dictionary(uniqueKeysWithValues: counts.map { ($0.name, Int($0.liveConnections)) }),
                initialSessions: Dictionary(uniqueKeysWithValues: counts.map { ($0.name, Int($0.sessions ?? 0)) }),
                deadline: now + .seconds(options.waitHealthCheck),
                startedAt: now
            )
        )
    }

    /// `POST /load_rebalance/{coordinator}/stop`.
    public mutating func stopRebalance(coordinator: String) throws(RebalanceRequestError) {
        guard let coordinatorNode = node(named: coordinator) else { throw .nodeNotFound(coordinator) }
        guard coordinatorNode.isRunning else { throw .nodeDown(coordinator) }
        guard rebalance(coordinatedBy: coordinator) != nil else {
            throw .rejected(node: coordinator, reason: "not_started")
        }
        endRebalance(coordinatedBy: coordinator, as: .stopped)
    }

    /// `POST /load_rebalance/{node}/evacuation/start`.
    public mutating func startEvacuation(node name: String, options: EvacuationOptions) throws(RebalanceRequestError) {
        guard let index = index(of: name) else { throw .nodeNotFound(name) }
        guard nodes[index].isRunning else { throw .nodeDown(name) }
        guard options.connEvictRate > 0 else { throw .badRequest("conn_evict_rate: must be a positive integer") }
        guard options.sessEvictRate > 0 else { throw .badRequest("sess_evict_rate: must be a positive integer") }
        if let targets = options.migrateTo {
            let unknown = targets.filter { node(named: $0) == nil }
            guard unknown.isEmpty else { throw .invalidNodes(unknown) }
            let unavailable = targets.filter { !(node(named: $0)?.isAvailable ?? false) }
            guard unavailable.isEmpty else { throw .unavailableNodes(unavailable) }
        }
        guard evacuation(of: name) == nil else { throw .rejected(node: name, reason: "already_started") }
        guard nodes[index].evictionAgent == nil else { throw .rejected(node: name, reason: "eviction_agent_busy") }
        nodes[index].evictionAgent = .evacuation(allowConnections: true)
        let evacuated = nodes[index]
        evacuations.append(
            EvacuationProcess(
                node: name,
                state: .waitingHealthCheck,
                options: options,
                initialConnections: evacuated.liveConnections,
                currentConnections: evacuated.liveConnections,
                initialSessions: evacuated.sessions,
                currentSessions: evacuated.sessions,
                deadline: now + .seconds(options.waitHealthCheck)
            )
        )
    }

    /// `POST /load_rebalance/{node}/evacuation/stop`.
    public mutating func stopEvacuation(node name: String) throws(RebalanceRequestError) {
        guard let index = index(of: name) else { throw .nodeNotFound(name) }
        guard nodes[index].isRunning else { throw .nodeDown(name) }
        guard evacuation(of: name) != nil else { throw .rejected(node: name, reason: "not_started") }
        evacuations.removeAll { $0.node == name }
        nodes[index].evictionAgent = nil
    }

    private static func validate(_ options: RebalanceOptions) throws(RebalanceRequestError) {
        guard options.connEvictRate > 0 else { throw .badRequest("conn_evict_rate: must be a positive integer") }
        guard options.sessEvictRate > 0 else { throw .badRequest("sess_evict_rate: must be a positive integer") }
        guard options.absConnThreshold > 0 else { throw .badRequest("abs_conn_threshold: must be a positive integer") }
        guard options.absSessThreshold > 0 else { throw .badRequest("abs_sess_threshold: must be a positive integer") }
        guard options.relConnThreshold > 1.0 else { throw .badRequest("rel_conn_threshold: must be greater than 1.0") }
        guard options.relSessThreshold > 1.0 else { throw .badRequest("rel_sess_threshold: must be greater than 1.0") }
        guard options.waitHealthCheck >= 0, options.waitTakeover >= 0 else {
            throw .badRequest("wait times must not be negative")
        }
    }

    // MARK: Rebalance coordinator (emqx_node_rebalance)

    private mutating func runRebalance(coordinatedBy coordinator: String) {
        while let position = rebalances.firstIndex(where: { $0.coordinator == coordinator }),
            rebalances[position].deadline <= now
        {
            var process = rebalances[position]
            switch process.state {
            case .waitHealthCheck:
                for donor in process.donors {
                    if let index = index(of: donor) {
                        nodes[index].evictionAgent = .rebalance(coordinator: coordinator, allowConnections: false)
                    }
                }
                process.state = .evictingConns
                process.deadline = now
            case .evictingConns:
                let donorCounts = process.donors.map { (name: $0, count: node(named: $0)?.liveConnections ?? 0) }
                let recipientCounts = process.recipients.map { node(named: $0)?.liveConnections ?? 0 }
                let donorAverage = Self.average(donorCounts.map(\.count))
                let recipientAverage = Self.average(recipientCounts)
                process.donorConnectionAverage = donorAverage
                process.recipientConnectionAverage = recipientAverage
                if BalanceMath.within(donorAverage, recipientAverage, process.options.connectionThreshold) {
                    process.state = .waitTakeover
                    process.deadline = now + .seconds(process.options.waitTakeover)
                } else {
                    rebalances[position] = process
                    for donor in donorCounts where Double(donor.count) > recipientAverage {
                        evictConnections(from: donor.name, count: process.options.connEvictRate)
                    }
                    process.connectionEvictionRounds += 1
                    process.deadline = now + .seconds(1)
                }
            case .waitTakeover:
                process.state = .evictingSessions
                process.deadline = now
            case .evictingSessions:
                let donorCounts = process.donors.map { (name: $0, count: node(named: $0)?.disconnectedSessions ?? 0) }
                let recipientCounts = process.recipients.map { node(named: $0)?.disconnectedSessions ?? 0 }
                let donorAverage = Self.average(donorCounts.map(\.count))
                let recipientAverage = Self.average(recipientCounts)
                process.donorSessionAverage = donorAverage
                process.recipientSessionAverage = recipientAverage
                if BalanceMath.within(donorAverage, recipientAverage, process.options.sessionThreshold) {
                    rebalances[position] = process
                    endRebalance(coordinatedBy: coordinator, as: .completed)
                    return
                }
                rebalances[position] = process
                for donor in donorCounts where Double(donor.count) > recipientAverage {
                    moveDisconnectedSessions(
                        from: donor.name,
                        count: process.options.sessEvictRate,
                        to: process.recipients
                    )
                }
                process.sessionEvictionRounds += 1
                process.deadline = now + .seconds(1)
            }
            rebalances[position] = process
        }
    }

    private mutating func endRebalance(coordinatedBy coordinator: String, as ending: RebalanceOutcome.Ending) {
        guard let position = rebalances.firstIndex(where: { $0.coordinator == coordinator }) else { return }
        let process = rebalances.remove(at: position)
        for donor in process.donors {
            if let index = index(of: donor), case .rebalance(let owner, _) = nodes[index].evictionAgent,
                owner == coordinator
            {
                nodes[index].evictionAgent = nil
            }
        }
        finishedRebalances.append(
            RebalanceOutcome(
                coordinator: coordinator,
                donors: process.donors,
                recipients: process.recipients,
                ending: ending,
                startedAt: process.startedAt,
                endedAt: now,
                connectionEvictionRounds: process.connectionEvictionRounds,
                sessionEvictionRounds: process.sessionEvictionRounds
            )
        )
    }

    /// EMQX aborts a rebalance on all nodes when a participating node fails.
    private mutating func abortRebalances(involving name: String) {
        for process in rebalances where process.participants.contains(name) {
            endRebalance(coordinatedBy: process.coordinator, as: .aborted)
        }
    }

    // MARK: Evacuation (emqx_node_rebalance_evacuation)

    private mutating func runEvacuation(of name: String) {
        while let position = evacuations.firstIndex(where: { $0.node == name }),
            let deadline = evacuations[position].deadline, deadline <= now,
            let index = index(of: name), nodes[index].isRunning
        {
            var process = evacuations[position]
            switch process.state {
            case .waitingHealthCheck:
                nodes[index].evictionAgent = .evacuation(allowConnections: false)
                process.state = .evictingConns
                process.deadline = now
            case .evictingConns:
                let live = nodes[index].liveConnections
                process.currentConnections = live
                if live > 0 {
                    evictConnections(from: name, count: process.options.connEvictRate)
                    process.deadline = now + .seconds(1)
                } else {
                    process.state = .waitingTakeover
                    process.deadline = now + .seconds(process.options.waitTakeover)
                }
            case .waitingTakeover:
                process.state = .evictingSessions
                process.deadline = now
            case .evictingSessions:
                let sessions = nodes[index].sessions
                if sessions > 0 {
                    let candidates =
                        process.options.migrateTo ?? nodes.filter(\.isRunning).map(\.name).filter { $0 != name }
                    let targets = candidates.filter { node(named: $0)?.isAvailable ?? false }
                    if targets.isEmpty {
                        process.deadline = now + .seconds(30)
                    } else {
                        moveDisconnectedSessions(from: name, count: process.options.sessEvictRate, to: targets)
                        process.currentSessions = sessions
                        process.deadline = now + .seconds(1)
                    }
                } else {
                    process.currentSessions = 0
                    process.state = .prohibiting
                    process.deadline = nil
                }
            case .prohibiting:
                process.deadline = nil
            }
            evacuations[position] = process
        }
    }

    // MARK: Clients

    /// Indices of the Service's endpoints, in node order.
    /// The listeners Service's endpoints: the replicants when the cluster has any (the operator's listeners Service
    /// selects them then), else the cores.
    private var serviceEndpoints: [Int] {
        let replicantsOnly = nodes.contains { $0.role == .replicant }
        return nodes.indices.filter { nodes[$0].inService && (!replicantsOnly || nodes[$0].role == .replicant) }
    }

    /// The node a new connection lands on, or `nil` when no endpoint accepts it.
    private mutating func pickNode() -> Int? {
        let endpoints = serviceEndpoints
        guard !endpoints.isEmpty else { return nil }
        switch configuration.loadBalancer {
        case .roundRobin:
            for _ in endpoints.indices {
                let candidate = endpoints[balancerCursor % endpoints.count]
                balancerCursor = (balancerCursor + 1) % 1_000_000_007
                if nodes[candidate].acceptsConnections { return candidate }
            }
            return nil
        case .leastConnections:
            return
                endpoints
                .filter { nodes[$0].acceptsConnections }
                .min { (nodes[$0].liveConnections, $0) < (nodes[$1].liveConnections, $1) }
        }
    }

    private mutating func connectThroughBalancer(_ count: Int) {
        for _ in 0..<max(0, count) {
            guard let target = pickNode() else {
                pendingClients += 1
                continue
            }
            nodes[target].liveConnections += 1
            nodes[target].counters.clientConnected += 1
            nodes[target].counters.sessionCreated += 1
            nodes[target].noteHighWater()
        }
    }

    /// The eviction agent kicks up to `count` connections (DISCONNECT `0x9C` Use another server); the clients come
    /// back through the load balancer and their sessions go with them.
    private mutating func evictConnections(from name: String, count: Int) {
        guard let index = index(of: name) else { return }
        let evicted = min(count, nodes[index].liveConnections)
        guard evicted > 0 else { return }
        nodes[index].liveConnections -= evicted
        nodes[index].counters.clientDisconnected += evicted
        nodes[index].counters.sessionTerminated += evicted
        nodes[index].counters.evicted += evicted
        connectThroughBalancer(evicted)
    }

    /// Moves up to `count` disconnected sessions to `targets`, one each in turn.
    private mutating func moveDisconnectedSessions(from name: String, count: Int, to targets: [String]) {
        guard let source = index(of: name), !targets.isEmpty else { return }
        let moved = min(count, nodes[source].disconnectedSessions)
        guard moved > 0 else { return }
        nodes[source].disconnectedSessions -= moved
        nodes[source].counters.sessionTakenover += moved
        var remaining = moved
        var position = 0
        while remaining > 0,
            let entry = lingering.indices.filter({ lingering[$0].node == name }).min(by: {
                lingering[$0].expiresAt < lingering[$1].expiresAt
            })
        {
            let take = min(remaining, lingering[entry].count)
            lingering[entry].count -= take
            for _ in 0..<take {
                let target = targets[position % targets.count]
                position += 1
                addLingering(node: target, count: 1, expiresAt: lingering[entry].expiresAt)
            }
            remaining -= take
            if lingering[entry].count == 0 { lingering.remove(at: entry) }
        }
        for offset in 0..<moved {
            if let target = index(of: targets[offset % targets.count]) {
                nodes[target].disconnectedSessions += 1
                nodes[target].counters.sessionCreated += 1
                nodes[target].noteHighWater()
            }
        }
    }

    private mutating func addLingering(node: String, count: Int, expiresAt: Duration) {
        if let existing = lingering.firstIndex(where: { $0.node == node && $0.expiresAt == expiresAt }) {
            lingering[existing].count += count
        } else {
            lingering.append(LingeringSessions(node: node, count: count, expiresAt: expiresAt))
        }
    }

    private mutating func expireSessions() {
        for entry in lingering where entry.expiresAt <= now {
            if let index = index(of: entry.node) {
                let ended = min(entry.count, nodes[index].disconnectedSessions)
                nodes[index].disconnectedSessions -= ended
                nodes[index].counters.sessionTerminated += ended
            }
        }
        lingering.removeAll { $0.expiresAt <= now }
    }

    private mutating func skew(towards target: String, count: Int) {
        guard let targetIndex = index(of: target), nodes[targetIndex].acceptsConnections else { return }
        var moved = 0
        var attempts = 0
        while moved < count, attempts < count * max(1, nodes.count) {
            attempts += 1
            let donors = nodes.indices.filter {
                $0 != targetIndex && nodes[$0].isRunning && nodes[$0].liveConnections > 0
            }
            guard !donors.isEmpty else { break }
            let donor = donors[moved % donors.count]
            nodes[donor].liveConnections -= 1
            nodes[donor].counters.clientDisconnected += 1
            nodes[donor].counters.sessionTerminated += 1
            nodes[targetIndex].liveConnections += 1
            nodes[targetIndex].counters.clientConnected += 1
            nodes[targetIndex].counters.sessionCreated += 1
            moved += 1
        }
        nodes[targetIndex].noteHighWater()
    }

    private mutating func churn(count: Int, persistentFraction: Double, expiry: Duration) {
        var departed = 0
        for _ in 0..<max(0, count) {
            let total = nodes.reduce(0) { $0 + ($1.isRunning ? $1.liveConnections : 0) }
            guard total > 0 else { break }
            var pick = Int(rng.next() % UInt64(total))
            guard
                let index = nodes.indices.first(where: { index in
                    guard nodes[index].isRunning else { return false }
                    if pick < nodes[index].liveConnections { return true }
                    pick -= nodes[index].liveConnections
                    return false
                })
            else { break }
            nodes[index].liveConnections -= 1
            nodes[index].counters.clientDisconnected += 1
            let keepsSession = Double(rng.next() % 1_000_000) / 1_000_000 < persistentFraction
            if keepsSession {
                nodes[index].disconnectedSessions += 1
                addLingering(node: nodes[index].name, count: 1, expiresAt: now + expiry)
            } else {
                nodes[index].counters.sessionTerminated += 1
            }
            departed += 1
        }
        connectThroughBalancer(departed)
    }

    // MARK: Node lifecycle

    private mutating func takeDown(_ name: String) {
        guard let index = index(of: name) else { return }
        abortRebalances(involving: name)
        let clients = nodes[index].isRunning ? nodes[index].liveConnections : 0
        nodes[index].status = .stopped
        nodes[index].liveConnections = 0
        nodes[index].disconnectedSessions = 0
        nodes[index].evictionAgent = nil
        lingering.removeAll { $0.node == name }
        connectThroughBalancer(clients)
    }

    private mutating func bringUp(_ name: String) {
        guard let index = index(of: name) else { return }
        nodes[index].status = .running
        nodes[index].startedAt = now
        nodes[index].liveConnections = 0
        nodes[index].disconnectedSessions = 0
        nodes[index].liveConnectionsMax = 0
        nodes[index].sessionsMax = 0
        nodes[index].counters = SimulatedNodeCounters()
        // An evacuation is persisted on disk: it resumes evicting at once, refusing connections.
        if let position = evacuations.firstIndex(where: { $0.node == name }) {
            nodes[index].evictionAgent = .evacuation(allowConnections: false)
            evacuations[position].state = .evictingConns
            evacuations[position].initialConnections = 0
            evacuations[position].currentConnections = 0
            evacuations[position].initialSessions = 0
            evacuations[position].currentSessions = 0
            evacuations[position].deadline = now
        }
    }

    private mutating func remove(_ name: String) {
        takeDown(name)
        evacuations.removeAll { $0.node == name }
        scheduledStarts[name] = nil
        nodes.removeAll { $0.name == name }
    }

    // MARK: Names

    private func index(of name: String) -> Int? {
        nodes.firstIndex { $0.name == name }
    }

    private var nodeNamePrefix: String {
        configuration.nodeNamePrefix ?? (configuration.kind == .emqx ? "emqx" : configuration.name)
    }

    private var corePodPrefix: String {
        configuration.corePodPrefix
            ?? (configuration.kind == .emqxEnterprise ? configuration.name : "\(configuration.name)-core-\(podHash)")
    }

    private mutating func makeNode(role: NodeRole) -> SimulatedEMQXNode {
        let ordinal = (nodes.filter { $0.role == role }.map(\.ordinal).max() ?? -1) + 1
        let ip = uniqueIP()
        let podName: String
        let name: String
        switch role {
        case .core:
            podName = "\(corePodPrefix)-\(ordinal)"
            name =
                "\(nodeNamePrefix)@\(podName).\(configuration.headlessService).\(configuration.namespace).svc.\(configuration.clusterDomain)"
        case .replicant:
            podName = "\(configuration.name)-replicant-\(podHash)-\(Self.randomToken(length: 5, rng: &rng))"
            name = "\(nodeNamePrefix)@\(ip)"
        }
        return SimulatedEMQXNode(
            name: name,
            role: role,
            podName: podName,
            podIP: ip,
            ordinal: ordinal,
            status: .running,
            startedAt: now,
            liveConnections: 0,
            disconnectedSessions: 0,
            liveConnectionsMax: 0,
            sessionsMax: 0,
            counters: SimulatedNodeCounters(),
            evictionAgent: nil,
            serviceReadiness: nil
        )
    }

    private mutating func uniqueIP() -> String {
        while true {
            let ip = "10.244.\(rng.next() % 4).\(rng.next() % 250 + 2)"
            if usedIPs.insert(ip).inserted { return ip }
        }
    }

    private static func randomToken(length: Int, rng: inout SplitMix64) -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
    }

    static func average(_ values: [Int]) -> Double {
        values.isEmpty ? 0 : Double(values.reduce(0, +)) / Double(values.count)
    }
}
