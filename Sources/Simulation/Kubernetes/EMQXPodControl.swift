import AutorebalancerCore
import Foundation

/// One pod of a simulated EMQX cluster, as its operator sees it.
public struct SimulatedPod: Sendable, Hashable {
    public var name: String
    /// The EMQX node running in it.
    public var node: String
    public var role: NodeRole
    public var ip: String
    public var running: Bool

    public init(name: String, node: String, role: NodeRole, ip: String, running: Bool) {
        self.name = name
        self.node = node
        self.role = role
        self.ip = ip
        self.running = running
    }
}

/// What the simulated operator does to a cluster's pods, played on a simulated EMQX cluster: list them (oldest
/// first per role), start new nodes, remove the newest node of a role. Without one, an EMQX object's replicas are
/// only reported, never acted on (the scenario moves the nodes itself).
public struct EMQXPodControl: Sendable {
    public var pods: @Sendable () -> [SimulatedPod]
    public var add: @Sendable (_ role: NodeRole, _ count: Int) -> Void
    public var removeNewest: @Sendable (_ role: NodeRole) -> Void

    public init(
        pods: @escaping @Sendable () -> [SimulatedPod],
        add: @escaping @Sendable (_ role: NodeRole, _ count: Int) -> Void,
        removeNewest: @escaping @Sendable (_ role: NodeRole) -> Void
    ) {
        self.pods = pods
        self.add = add
        self.removeNewest = removeNewest
    }

    /// Drives a simulated EMQX cluster: new pods join it empty, removed ones leave it.
    public static func cluster(_ cluster: SimulatedEMQXCluster) -> EMQXPodControl {
        EMQXPodControl(
            pods: {
                cluster.nodes.map {
                    SimulatedPod(
                        name: $0.podName,
                        node: $0.name,
                        role: $0.role,
                        ip: $0.podIP,
                        running: $0.status == .running
                    )
                }
            },
            add: { role, count in try? cluster.apply(.scaleOut(count: count, role: role)) },
            removeNewest: { role in try? cluster.apply(.scaleIn(count: 1, role: role)) }
        )
    }
}

extension SimulatedKubernetesAPI {
    /// Lets the operator act on an EMQX object's pods: HPA or `kubectl scale` changes of its replicas then start or
    /// remove nodes of the simulated cluster (3.0 removes replicants by marking the pod `apps.emqx.io/scaling-down`
    /// and evacuating its node first).
    public func setEMQXPodControl(namespace: String, name: String, _ control: EMQXPodControl) {
        podControls.withLock { $0["\(namespace)/\(name)"] = control }
    }

    func podControl(_ key: String) -> EMQXPodControl? {
        podControls.withLock { $0[key] }
    }

    /// The stored pods of a namespace, decoded.
    public func pods(namespace: String) -> [Pod] {
        objects(.pods, namespace: namespace).compactMap { try? $0.decode(Pod.self) }
    }
}
