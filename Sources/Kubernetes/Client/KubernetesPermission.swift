import AutorebalancerCore

/// One RBAC permission the agent needs: a verb on a resource of an API group (`""` is the core group).
public struct KubernetesPermission: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var group: String
    public var resource: String
    public var verb: String

    public init(group: String, resource: String, verb: String) {
        self.group = group
        self.resource = resource
        self.verb = verb
    }

    /// `apps.emqx.io rebalances create` (`core` for the core group), the format of deploy/rbac-verbs.txt.
    public var description: String { "\(group.isEmpty ? "core" : group) \(resource) \(verb)" }

    public static func < (lhs: KubernetesPermission, rhs: KubernetesPermission) -> Bool {
        (lhs.group, lhs.resource, lhs.verb) < (rhs.group, rhs.resource, rhs.verb)
    }

    /// Every (verb, resource) `HTTPKubernetesClient` calls, one per `KubernetesAPI` and `EMQXRebalanceStore` method (discovery excepted: it is
    /// granted to every authenticated user). Tests check this against the requests the client really sends.
    public static let required: Set<KubernetesPermission> = {
        let emqx = "apps.emqx.io"
        return [
            .init(group: emqx, resource: "emqxes", verb: "get"),
            .init(group: emqx, resource: "emqxes", verb: "list"),
            .init(group: emqx, resource: "emqxes", verb: "watch"),
            .init(group: emqx, resource: "emqxenterprises", verb: "get"),
            .init(group: emqx, resource: "emqxenterprises", verb: "list"),
            .init(group: emqx, resource: "emqxenterprises", verb: "watch"),
            // What an HPA sees (`check --kubeconfig` and the start-up check only).
            .init(group: emqx, resource: "emqxes/scale", verb: "get"),
            // Operator 3.0 marks pods it removes (`apps.emqx.io/scaling-down`).
            .init(group: "", resource: "pods", verb: "list"),
            // The cache keeps what the loop reads current by list + watch (KubernetesCache).
            .init(group: "", resource: "pods", verb: "watch"),
            .init(group: emqx, resource: "rebalances", verb: "create"),
            .init(group: emqx, resource: "rebalances", verb: "get"),
            .init(group: emqx, resource: "rebalances", verb: "list"),
            .init(group: emqx, resource: "rebalances", verb: "watch"),
            .init(group: emqx, resource: "rebalances", verb: "patch"),
            .init(group: emqx, resource: "rebalances", verb: "delete"),
            .init(group: EMQXRebalance.group, resource: "emqxrebalances", verb: "create"),
            .init(group: EMQXRebalance.group, resource: "emqxrebalances", verb: "get"),
            .init(group: EMQXRebalance.group, resource: "emqxrebalances", verb: "list"),
            .init(group: EMQXRebalance.group, resource: "emqxrebalances", verb: "watch"),
            .init(group: EMQXRebalance.group, resource: "emqxrebalances", verb: "patch"),
            .init(group: EMQXRebalance.group, resource: "emqxrebalances", verb: "delete"),
            .init(group: EMQXRebalance.group, resource: "emqxrebalances/status", verb: "patch"),
            .init(group: "coordination.k8s.io", resource: "leases", verb: "get"),
            // Sharded leader election reads its Leases with one list per round.
            .init(group: "coordination.k8s.io", resource: "leases", verb: "list"),
            .init(group: "coordination.k8s.io", resource: "leases", verb: "create"),
            .init(group: "coordination.k8s.io", resource: "leases", verb: "update"),
            .init(group: "events.k8s.io", resource: "events", verb: "create"),
            .init(group: "events.k8s.io", resource: "events", verb: "patch"),
            .init(group: "", resource: "events", verb: "create"),
            .init(group: "", resource: "events", verb: "patch"),
        ]
    }()
}
