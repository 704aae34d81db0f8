import AutorebalancerCore

/// How the simulated load balancer in front of the EMQX listeners picks a node for a new or reconnecting client.
public enum LoadBalancerPolicy: String, Sendable, Hashable, Codable {
    /// Next node in turn among the Service's endpoints (most cloud load balancers).
    case roundRobin
    /// The endpoint with the fewest live connections (HAProxy `leastconn`); ties go to the first in node order.
    case leastConnections
}

/// API key and secret accepted with HTTP Basic auth, as EMQX's API keys (EMQX 5) or application credentials (4.4).
public struct EMQXAPICredentials: Sendable, Hashable {
    public var key: String
    public var secret: String
    /// EMQX 6 API-key scopes (`cluster_operations`, `monitoring`, …); `nil` grants everything, as before EMQX 6.0.3.
    public var scopes: Set<String>?

    public init(key: String, secret: String, scopes: Set<String>? = nil) {
        self.key = key
        self.secret = secret
        self.scopes = scopes
    }

    /// The EMQX 6 scope `load_rebalance` and `/api/v5/nodes` need.
    public static let clusterOperations = "cluster_operations"

    /// The operator's bootstrap key names (`emqx-operator-controller` on EMQX 5, `emqx_operator_controller` on 4.4).
    public static func operatorBootstrap(for kind: InstanceKind) -> EMQXAPICredentials {
        switch kind {
        case .emqx: EMQXAPICredentials(key: "emqx-operator-controller", secret: "emqx-operator-secret")
        case .emqxEnterprise: EMQXAPICredentials(key: "emqx_operator_controller", secret: "emqx-operator-secret")
        }
    }
}

/// One node of the initial cluster.
public struct SimulatedNodeSpec: Sendable, Hashable {
    public var role: NodeRole
    /// Connected clients (clean-start: each holds its session on this node).
    public var liveConnections: Int
    /// Persistent sessions whose clients are offline, lingering on this node.
    public var disconnectedSessions: Int
    /// How long the node has been up when the simulation starts; `.zero` for a node just added.
    public var uptime: Duration

    public init(
        role: NodeRole = .core,
        liveConnections: Int,
        disconnectedSessions: Int = 0,
        uptime: Duration = .seconds(3 * 86_400)
    ) {
        self.role = role
        self.liveConnections = liveConnections
        self.disconnectedSessions = disconnectedSessions
        self.uptime = uptime
    }
}

/// Everything that defines a simulated EMQX cluster. Two clusters with equal configurations evolve identically under
/// the same events and time steps.
public struct SimulatedEMQXConfiguration: Sendable, Hashable {
    /// The name of the EMQX custom resource (`emqx-ee`).
    public var name: String
    public var namespace: String
    /// `EMQX` (EMQX 5 API and formats) or `EmqxEnterprise` (EMQX 4.4 API and formats).
    public var kind: InstanceKind
    public var nodes: [SimulatedNodeSpec]
    public var loadBalancer: LoadBalancerPolicy
    /// Seed of every random choice (churn, IP addresses, pod hashes).
    public var seed: UInt64
    public var credentials: EMQXAPICredentials
    /// EMQX 6.3 requires auth on the stats endpoint by default; earlier versions leave it open.
    public var statsRequireAuth: Bool
    /// The version string nodes report (`5.8.9`, `4.4.19`).
    public var version: String
    /// The part before `@` in node names; `nil` uses the operator's: `emqx` for EMQX 5, the resource name for 4.4.
    public var nodeNamePrefix: String?
    /// The core pods' name prefix (pods are `<prefix>-<ordinal>`); `nil` uses the operator's: the resource name for
    /// 4.4, `<name>-core-<hash>` for EMQX 5.
    public var corePodPrefix: String?
    public var clusterDomain: String

    public init(
        name: String,
        namespace: String = "default",
        kind: InstanceKind = .emqx,
        nodes: [SimulatedNodeSpec],
        loadBalancer: LoadBalancerPolicy = .roundRobin,
        seed: UInt64 = 1,
        credentials: EMQXAPICredentials? = nil,
        statsRequireAuth: Bool = false,
        version: String? = nil,
        nodeNamePrefix: String? = nil,
        corePodPrefix: String? = nil,
        clusterDomain: String = "cluster.local"
    ) {
        self.name = name
        self.namespace = namespace
        self.kind = kind
        self.nodes = nodes
        self.loadBalancer = loadBalancer
        self.seed = seed
        self.credentials = credentials ?? .operatorBootstrap(for: kind)
        self.statsRequireAuth = statsRequireAuth
        self.version = version ?? (kind == .emqx ? "5.8.9" : "4.4.19")
        self.nodeNamePrefix = nodeNamePrefix
        self.corePodPrefix = corePodPrefix
        self.clusterDomain = clusterDomain
    }

    /// The headless Service that gives core pods their DNS names.
    public var headlessService: String { "\(name)-headless" }

    /// The seed scenario of the product: EmqxEnterprise `emqx-ee` in `default`, four core nodes holding 3333, 3333,
    /// 3334 and 0 (just added) live connections, sessions equal to connections.
    public static func seedScenario(
        seed: UInt64 = 1,
        loadBalancer: LoadBalancerPolicy = .roundRobin
    ) -> SimulatedEMQXConfiguration {
        SimulatedEMQXConfiguration(
            name: "emqx-ee",
            namespace: "default",
            kind: .emqxEnterprise,
            nodes: [
                SimulatedNodeSpec(liveConnections: 3333),
                SimulatedNodeSpec(liveConnections: 3333),
                SimulatedNodeSpec(liveConnections: 3334),
                SimulatedNodeSpec(liveConnections: 0, uptime: .zero),
            ],
            loadBalancer: loadBalancer,
            seed: seed
        )
    }
}
