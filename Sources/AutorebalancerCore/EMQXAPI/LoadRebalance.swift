import Foundation

/// EMQX 5's own rebalance API (`apps/emqx_node_rebalance/src/emqx_node_rebalance_api.erl`): the bodies the agent
/// sends and the answers it reads, as values. The HTTP exchange itself lives at the edge (`EMQXRebalanceAPI`).
///
/// - `POST /api/v5/load_rebalance/{coordinator}/start` with a `StartRequest`: 200 `{}` when started.
/// - `POST /api/v5/load_rebalance/{coordinator}/stop`: 200 `{}`, 400 `not_started`.
/// - `GET /api/v5/load_rebalance/global_status`: a `GlobalStatus`.
/// - `GET /api/v5/nodes`: `[NodeInfo]`.
public enum LoadRebalance {
    /// The body of `start`. Field names are EMQX's; an omitted field takes EMQX's default (conn/sess 500 per second,
    /// waits 60 s, abs 1000, rel 1.1: the same values the operator's `Rebalance` CRD defaults to).
    public struct StartRequest: Sendable, Hashable, Codable {
        /// The rebalanced node set (replicants when the cluster has any, else core nodes). EMQX picks donors
        /// (live connections ≥ the average) and recipients among them.
        public var nodes: [String]
        public var connEvictRate: Int
        public var sessEvictRate: Int?
        /// Seconds. Sent as an integer, as the operator does (`timeout_duration_s` accepts both).
        public var waitHealthCheck: Int?
        public var waitTakeover: Int?
        public var absConnThreshold: Int?
        public var relConnThreshold: Double?
        public var absSessThreshold: Int?
        public var relSessThreshold: Double?

        enum CodingKeys: String, CodingKey {
            case nodes
            case connEvictRate = "conn_evict_rate"
            case sessEvictRate = "sess_evict_rate"
            case waitHealthCheck = "wait_health_check"
            case waitTakeover = "wait_takeover"
            case absConnThreshold = "abs_conn_threshold"
            case relConnThreshold = "rel_conn_threshold"
            case absSessThreshold = "abs_sess_threshold"
            case relSessThreshold = "rel_sess_threshold"
        }

        public init(
            nodes: [String],
            connEvictRate: Int,
            sessEvictRate: Int? = nil,
            waitHealthCheck: Int? = nil,
            waitTakeover: Int? = nil,
            absConnThreshold: Int? = nil,
            relConnThreshold: Double? = nil,
            absSessThreshold: Int? = nil,
            relSessThreshold: Double? = nil
        ) {
            self.nodes = nodes
            self.connEvictRate = connEvictRate
            self.sessEvictRate = sessEvictRate
            self.waitHealthCheck = waitHealthCheck
            self.waitTakeover = waitTakeover
            self.absConnThreshold = absConnThreshold
            self.relConnThreshold = relConnThreshold
            self.absSessThreshold = absSessThreshold
            self.relSessThreshold = relSessThreshold
        }

        /// The request for a strategy (the `Rebalance` field names, mapped to EMQX's) and a node set, checked the way
        /// EMQX checks it, so that a bad value is named by its field instead of coming back as a 400.
        /// - Parameter fieldPrefix: how the strategy's fields are named in errors (`spec.strategy`).
        public static func make(
            strategy: RebalanceStrategy,
            nodes: [String],
            fieldPrefix: String
        ) -> Result<StartRequest, StrategyProblems> {
            var problems: [StrategyProblem] = []
            func check(_ value: Int?, _ field: String, minimum: Int) {
                guard let value else { return }
                if value < minimum || value > Int(Int32.max) {
                    problems.append(
                        .init(
                            field: "\(fieldPrefix).\(field)",
                            message: "must be between \(minimum) and \(Int32.max) (got \(value))"
                        )
                    )
                }
            }
            check(strategy.connEvictRate, "connEvictRate", minimum: 1)
            check(strategy.sessEvictRate, "sessEvictRate", minimum: 1)
            check(strategy.waitHealthCheck, "waitHealthCheck", minimum: 0)
            check(strategy.waitTakeover, "waitTakeover", minimum: 0)
            check(strategy.absConnThreshold, "absConnThreshold", minimum: 1)
            check(strategy.absSessThreshold, "absSessThreshold", minimum: 1)
            func relative(_ text: String?, _ field: String) -> Double? {
                guard let text else { return nil }
                // EMQX rejects 1.0 and below: nothing could ever be balanced "within" them.
                guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, value > 1.0,
                    value <= 1000
                else {
                    problems.append(
                        .init(
                            field: "\(fieldPrefix).\(field)",
                            message: "must be a number greater than 1.0, as a string such as \"1.1\" (got \"\(text)\")"
                        )
                    )
                    return nil
                }
                return value
            }
            let relConn = relative(strategy.relConnThreshold, "relConnThreshold")
            let relSess = relative(strategy.relSessThreshold, "relSessThreshold")
            if nodes.isEmpty { problems.append(.init(field: "nodes", message: "the rebalanced node set is empty")) }
            guard problems.isEmpty else { return .failure(StrategyProblems(problems: problems)) }
            return .success(
                StartRequest(
                    nodes: nodes,
                    connEvictRate: strategy.connEvictRate,
                    sessEvictRate: strategy.sessEvictRate,
                    waitHealthCheck: strategy.waitHealthCheck,
                    waitTakeover: strategy.waitTakeover,
                    absConnThreshold: strategy.absConnThreshold,
                    relConnThreshold: relConn,
                    absSessThreshold: strategy.absSessThreshold,
                    relSessThreshold: relSess
                )
            )
        }

        /// The JSON body (keys sorted, omitted fields absent).
        public func body() -> Data {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? encoder.encode(self)) ?? Data("{}".utf8)
        }
    }

    /// One field of a strategy that EMQX would refuse.
    public struct StrategyProblem: Sendable, Hashable, CustomStringConvertible {
        public var field: String
        public var message: String
        public var description: String { "\(field): \(message)" }
    }

    public struct StrategyProblems: Error, Sendable, Hashable, CustomStringConvertible {
        public var problems: [StrategyProblem]
        public var description: String { problems.map(\.description).joined(separator: "; ") }
    }

    // MARK: global_status

    /// `GET /api/v5/load_rebalance/global_status`: every rebalance, evacuation and purge running anywhere in the
    /// cluster, whoever started it. Decoding is lenient per field (a field of the wrong type is unknown) but strict
    /// on shape: the three lists must be lists, else the answer is not trusted at all.
    public struct GlobalStatus: Sendable, Hashable, Decodable {
        public var rebalances: [RebalanceEntry]
        public var evacuations: [ProcessEntry]
        public var purges: [ProcessEntry]

        public init(rebalances: [RebalanceEntry] = [], evacuations: [ProcessEntry] = [], purges: [ProcessEntry] = []) {
            self.rebalances = rebalances
            self.evacuations = evacuations
            self.purges = purges
        }

        enum CodingKeys: String, CodingKey { case rebalances, evacuations, purges }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            rebalances = try container.decodeIfPresent([RebalanceEntry].self, forKey: .rebalances) ?? []
            evacuations = try container.decodeIfPresent([ProcessEntry].self, forKey: .evacuations) ?? []
            // 4.4 and early 5.x have no purges.
            purges = try container.decodeIfPresent([ProcessEntry].self, forKey: .purges) ?? []
        }

        /// Nothing runs: a new rebalance may start (as far as EMQX is concerned).
        public var isIdle: Bool { rebalances.isEmpty && evacuations.isEmpty && purges.isEmpty }

        /// The rebalance coordinated by `node`, if any.
        public func rebalance(coordinatedBy node: String) -> RebalanceEntry? {
            rebalances.first { ($0.coordinatorNode ?? $0.node) == node }
        }

        /// Why a new rebalance must not start now, or `nil` when EMQX reports nothing running.
        public var blockingReason: String? {
            if let entry = rebalances.first {
                return
                    "EMQX reports a rebalance coordinated by \(entry.coordinatorNode ?? entry.node ?? "an unnamed node") (\(entry.state ?? "state unknown"))"
            }
            if let entry = evacuations.first {
                return
                    "EMQX reports an evacuation of \(entry.node ?? "an unnamed node") (\(entry.state ?? "state unknown"))"
            }
            if let entry = purges.first { return "EMQX reports a session purge on \(entry.node ?? "an unnamed node")" }
            return nil
        }
    }

    /// One `rebalances` entry of `global_status`.
    public struct RebalanceEntry: Sendable, Hashable, Codable {
        public var node: String?
        /// `wait_health_check`, `evicting_conns`, `wait_takeover`, `evicting_sessions`.
        public var state: String?
        public var coordinatorNode: String?
        public var donors: [String]?
        public var recipients: [String]?
        public var connectionEvictionRate: Int?
        public var sessionEvictionRate: Int?
        /// The recipients' average live connections (EMQX's goal for the donors).
        public var connectionGoal: Double?
        public var disconnectedSessionGoal: Double?
        public var donorConnectionAverage: Double?
        public var donorSessionAverage: Double?

        enum CodingKeys: String, CodingKey {
            case node, state, donors, recipients
            case coordinatorNode = "coordinator_node"
            case connectionEvictionRate = "connection_eviction_rate"
            case sessionEvictionRate = "session_eviction_rate"
            case connectionGoal = "connection_goal"
            case disconnectedSessionGoal = "disconnected_session_goal"
            case donorConnectionAverage = "donor_conn_avg"
            case donorSessionAverage = "donor_sess_avg"
        }

        public init(
            node: String? = nil,
            state: String? = nil,
            coordinatorNode: String? = nil,
            donors: [String]? = nil,
            recipients: [String]? = nil,
            connectionEvictionRate: Int? = nil,
            sessionEvictionRate: Int? = nil
        ) {
            self.node = node
            self.state = state
            self.coordinatorNode = coordinatorNode
            self.donors = donors
            self.recipients = recipients
            self.connectionEvictionRate = connectionEvictionRate
            self.sessionEvictionRate = sessionEvictionRate
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            node = Lenient.string(c, .node)
            state = Lenient.string(c, .state)
            coordinatorNode = Lenient.string(c, .coordinatorNode)
            donors = Lenient.strings(c, .donors)
            recipients = Lenient.strings(c, .recipients)
            connectionEvictionRate = Lenient.count(c, .connectionEvictionRate)
            sessionEvictionRate = Lenient.count(c, .sessionEvictionRate)
            connectionGoal = Lenient.number(c, .connectionGoal)
            disconnectedSessionGoal = Lenient.number(c, .disconnectedSessionGoal)
            donorConnectionAverage = Lenient.number(c, .donorConnectionAverage)
            donorSessionAverage = Lenient.number(c, .donorSessionAverage)
        }

        /// Every node taking part (coordinator, donors, recipients).
        public var participants: Set<String> {
            Set((donors ?? []) + (recipients ?? []) + [coordinatorNode ?? node].compactMap { $0 })
        }
    }

    /// One `evacuations` or `purges` entry of `global_status` (only what the agent reads).
    public struct ProcessEntry: Sendable, Hashable, Decodable {
        public var node: String?
        public var state: String?

        enum CodingKeys: String, CodingKey { case node, state }

        public init(node: String?, state: String?) {
            self.node = node
            self.state = state
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            node = Lenient.string(c, .node)
            state = Lenient.string(c, .state)
        }
    }

    // MARK: /api/v5/nodes

    /// One entry of `GET /api/v5/nodes`: the cluster's members as EMQX sees them.
    public struct NodeInfo: Sendable, Hashable, Decodable {
        public var node: String
        /// `running` or `stopped`.
        public var nodeStatus: String?
        /// `core` or `replicant` (EMQX 5).
        public var role: NodeRole?
        public var liveConnections: Int?
        /// Sessions (EMQX's `connections` counts sessions).
        public var sessions: Int?
        /// Milliseconds since the node started.
        public var uptimeMilliseconds: Int?
        public var version: String?
        public var edition: String?

        enum CodingKeys: String, CodingKey {
            case node, role, version, edition, uptime
            case nodeStatus = "node_status"
            case liveConnections = "live_connections"
            case sessions = "connections"
        }

        public init(
            node: String,
            nodeStatus: String? = "running",
            role: NodeRole? = nil,
            liveConnections: Int? = nil,
            sessions: Int? = nil,
            uptimeMilliseconds: Int? = nil
        ) {
            self.node = node
            self.nodeStatus = nodeStatus
            self.role = role
            self.liveConnections = liveConnections
            self.sessions = sessions
            self.uptimeMilliseconds = uptimeMilliseconds
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            node = try c.decode(String.self, forKey: .node)
            nodeStatus = Lenient.string(c, .nodeStatus)
            role = Lenient.string(c, .role).flatMap(NodeRole.init(rawValue:))
            liveConnections = Lenient.count(c, .liveConnections)
            sessions = Lenient.count(c, .sessions)
            uptimeMilliseconds = Lenient.count(c, .uptime)
            version = Lenient.string(c, .version)
            edition = Lenient.string(c, .edition)
        }

        public var isRunning: Bool { nodeStatus?.lowercased() == "running" }
    }
}

/// Field decoding that turns a value of the wrong type or out of range into "unknown" instead of failing the whole
/// answer: every number from a socket is hostile.
enum Lenient {
    static func string<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) -> String? {
        (try? c.decodeIfPresent(String.self, forKey: key)) ?? nil
    }

    static func strings<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) -> [String]? {
        (try? c.decodeIfPresent([String].self, forKey: key)) ?? nil
    }

    static func number<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) -> Double? {
        guard let value = (try? c.decodeIfPresent(Double.self, forKey: key)) ?? nil, value.isFinite else { return nil }
        return value
    }

    /// A non-negative whole number below 2^53; anything else is unknown.
    static func count<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) -> Int? {
        guard let value = number(c, key), value >= 0, value < 9_007_199_254_740_992, value == value.rounded(.towardZero)
        else { return nil }
        return Int(value)
    }
}
