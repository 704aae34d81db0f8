import AutorebalancerCore

/// The options of `POST /api/v5/load_rebalance/{node}/start` (and the 4.4 equivalent), with EMQX's defaults.
public struct RebalanceOptions: Sendable, Hashable {
    public var connEvictRate: Int = 500
    public var sessEvictRate: Int = 500
    /// Seconds the donors stay available for connections (but fail `availability_check`) before eviction starts.
    public var waitHealthCheck: Int = 60
    /// Seconds between the end of connection eviction and the start of session eviction.
    public var waitTakeover: Int = 60
    public var absConnThreshold: Double = 1000
    public var relConnThreshold: Double = 1.1
    public var absSessThreshold: Double = 1000
    public var relSessThreshold: Double = 1.1
    /// Milliseconds (EMQX ≥ 5.9 reports them in status).
    public var connEvictRPCTimeout: Int = 15_000
    public var sessEvictRPCTimeout: Int = 15_000
    /// The rebalanced node set; `nil` means every running node.
    public var nodes: [String]?

    public init() {}

    public var connectionThreshold: BalanceThreshold {
        BalanceThreshold(absolute: absConnThreshold, relative: relConnThreshold)
    }
    public var sessionThreshold: BalanceThreshold {
        BalanceThreshold(absolute: absSessThreshold, relative: relSessThreshold)
    }
}

/// The options of `POST /api/v5/load_rebalance/{node}/evacuation/start`, with EMQX's defaults.
public struct EvacuationOptions: Sendable, Hashable {
    public var connEvictRate: Int = 500
    public var sessEvictRate: Int = 500
    public var waitHealthCheck: Int = 60
    public var waitTakeover: Int = 60
    /// MQTT 5 `Server-Reference` sent with the DISCONNECT (`redirect_to`).
    public var serverReference: String?
    /// Nodes that receive the sessions; `nil` means every other available running node.
    public var migrateTo: [String]?

    public init() {}
}

/// Why EMQX refused a load_rebalance request. `code`/`message` are what its API answers.
public enum RebalanceRequestError: Error, Sendable, Hashable {
    /// EMQX's `{error, Reason}` from the coordinator: `nothing_to_balance`, `already_started`, `not_started`,
    /// `eviction_agent_busy`.
    case rejected(node: String, reason: String)
    /// The path's node is not a cluster member.
    case nodeNotFound(String)
    /// The path's node is down (`RPC_ERROR`).
    case nodeDown(String)
    /// Some requested nodes are unknown.
    case invalidNodes([String])
    /// Some requested nodes are unavailable (being evacuated or donors of another rebalance).
    case unavailableNodes([String])
    /// A body field failed validation.
    case badRequest(String)

    /// The bare reason atom (`nothing_to_balance`) or message.
    public var reason: String {
        switch self {
        case .rejected(_, let reason): reason
        case .nodeNotFound(let node): "Node not found: \(node)"
        case .nodeDown(let node): "RPC error on node \(erlangAtom(node)): nodedown"
        case .invalidNodes(let nodes): "Invalid nodes: \(erlangList(nodes))"
        case .unavailableNodes(let nodes): "Nodes unavailable: \(erlangList(nodes))"
        case .badRequest(let message): message
        }
    }
}

/// Erlang's `~p` of a node atom: quoted when it holds characters outside `[a-z0-9_@]` or starts with a non-letter.
func erlangAtom(_ name: String) -> String {
    let plain =
        name.first.map { $0.isLowercase && $0.isLetter } == true
        && name.allSatisfy { ($0.isLetter && $0.isLowercase) || $0.isNumber || $0 == "_" || $0 == "@" }
    return plain ? name : "'\(name)'"
}

func erlangList(_ names: [String]) -> String {
    "[" + names.map(erlangAtom).joined(separator: ",") + "]"
}
