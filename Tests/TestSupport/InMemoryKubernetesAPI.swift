import AutorebalancerCore
import Foundation
import Kubernetes
import Synchronization

/// The one in-memory `KubernetesAPI` of the unit tests (the loop, leader election, the actuator): EMQX objects,
/// Rebalances, Leases and Events in dictionaries, discovery answering an EMQX Operator 2.2, every call logged with the
/// instant it was made, and faults injected per verb (an error, or no answer at all). Leases behave as the API server's
/// do: a create of an existing one is 409 `AlreadyExists`, an update with a stale `resourceVersion` 409 `Conflict`.
/// Thin on purpose: no schema, no webhook, no selector beyond equality; `SimulatedKubernetesAPI` over HTTP covers those
/// in integration tests.
public final class InMemoryKubernetesAPI: KubernetesAPI {
    /// The verbs a fault can be injected on.
    public enum Verb: String, Sendable, Hashable {
        case getEMQX, listEMQX, listPods, listRebalances, getRebalance, createRebalance, patchRebalance, deleteRebalance
        case getLease, createLease, updateLease, createEvent, patchEvent, discovery
    }

    /// What a faulty verb does instead of answering.
    public enum Fault: Sendable {
        /// Throws this error.
        case error(KubernetesError)
        /// Never answers (until the caller gives up and cancels).
        case noAnswer
    }

    public struct Call: Sendable, Hashable {
        public var verb: Verb
        public var name: String?
        public var at: Date
    }

    private struct State {
        var objects: [String: ClusterObject] = [:]
        var rebalances: [String: Rebalance] = [:]
        var leases: [String: Lease] = [:]
        var events: [String: KubernetesEvent] = [:]
        var faults: [Verb: (name: String?, fault: Fault)] = [:]
        var callLog: [Call] = []
        var serial = 0
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date) {
        self.now = now
    }

    // MARK: Test controls

    public func put(_ object: ClusterObject) {
        state.withLock { $0.objects[Self.key(object.metadata.namespace ?? "", object.metadata.name ?? "")] = object }
    }

    /// Makes `verb` fail (for objects named `name`, or all) until `clear(verb)`.
    public func inject(_ verb: Verb, _ fault: Fault, name: String? = nil) {
        state.withLock { $0.faults[verb] = (name, fault) }
    }

    public func clear(_ verb: Verb) {
        _ = state.withLock { $0.faults.removeValue(forKey: verb) }
    }

    public var calls: [Call] { state.withLock { $0.callLog } }
    public var storedRebalances: [Rebalance] {
        state.withLock { Array($0.rebalances.values) }.sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }
    }
    public var storedEvents: [KubernetesEvent] { state.withLock { Array($0.events.values) } }

    public static func forbidden(_ verb: String, _ plural: String, namespace: String) -> KubernetesError {
        KubernetesError(
            code: .forbidden,
            request: .init(verb: verb, resource: .rebalances, namespace: namespace),
            statusCode: 403,
            detail:
                "\(plural).apps.emqx.io is forbidden: User \"system:serviceaccount:default:agent\" cannot \(verb) resource \"\(plural)\""
        )
    }

    // MARK: The verbs

    /// Logs the call, then fails or hangs when a fault is injected.
    private func enter(_ verb: Verb, name: String? = nil) async throws {
        let fault: Fault? = state.withLock { state in
            state.callLog.append(Call(verb: verb, name: name, at: now()))
            guard let (only, fault) = state.faults[verb], only == nil || only == name else { return nil }
            return fault
        }
        switch fault {
        case .error(let error)?:
            throw error
        case .noAnswer?:
            // Parked until the caller's timeout cancels it; a test never waits on this.
            while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
            throw CancellationError()
        case nil:
            return
        }
    }

    private static func key(_ namespace: String, _ name: String) -> String { "\(namespace)/\(name)" }

    private static func notFound(_ what: String) -> KubernetesError {
        KubernetesError(code: .notFound, request: nil, statusCode: 404, detail: "\(what) not found")
    }

    public func emqxObject(_ version: EMQXObjectVersion, namespace: String, name: String) async throws -> ClusterObject
    {
        try await enter(.getEMQX, name: name)
        guard let object = state.withLock({ $0.objects[Self.key(namespace, name)] }), object.version == version else {
            throw Self.notFound("emqx \(namespace)/\(name)")
        }
        return object
    }

    public func emqxObjects(_ version: EMQXObjectVersion, namespace: String) async throws -> [ObjectMeta] {
        try await enter(.listEMQX)
        return state.withLock {
            $0.objects.values.filter { $0.version == version && $0.metadata.namespace == namespace }.map(\.metadata)
        }
    }

    public func emqxScale(_ version: EMQXObjectVersion, namespace: String, name: String) async throws -> Scale {
        throw Self.notFound("scale of \(namespace)/\(name)")
    }

    public func pods(namespace: String, labelSelector: String?) async throws -> [Pod] {
        try await enter(.listPods)
        return []
    }

    public func createRebalance(_ rebalance: Rebalance) async throws -> Rebalance {
        let name = rebalance.metadata.name ?? ""
        try await enter(.createRebalance, name: name)
        let key = Self.key(rebalance.metadata.namespace ?? "", name)
        return try state.withLock { state in
            guard state.rebalances[key] == nil else {
                throw KubernetesError(
                    code: .alreadyExists,
                    request: nil,
                    statusCode: 409,
                    detail: "rebalances \(name) already exists"
                )
            }
            state.serial += 1
            var created = rebalance
            created.metadata.uid = "uid-\(state.serial)"
            created.metadata.resourceVersion = "\(state.serial)"
            created.metadata.creationTimestamp = KubernetesTime.format(now())
            state.rebalances[key] = created
            return created
        }
    }

    public func rebalance(namespace: String, name: String) async throws -> Rebalance {
        try await enter(.getRebalance, name: name)
        guard let found = state.withLock({ $0.rebalances[Self.key(namespace, name)] }) else {
            throw Self.notFound("rebalances \(name)")
        }
        return found
    }

    public func rebalances(namespace: String, labelSelector: String?) async throws -> [Rebalance] {
        try await enter(.listRebalances)
        let wanted = (labelSelector ?? "").split(separator: ",").map {
            $0.split(separator: "=", maxSplits: 1).map(String.init)
        }
        return storedRebalances.filter { rebalance in
            rebalance.metadata.namespace == namespace
                && wanted.allSatisfy { pair in pair.count == 2 && rebalance.metadata.labels?[pair[0]] == pair[1] }
        }
    }

    public func patchRebalanceMetadata(
        namespace: String,
        name: String,
        labels: [String: String?],
        annotations: [String: String?]
    ) async throws -> Rebalance {
        try await enter(.patchRebalance, name: name)
        return try state.withLock { state in
            guard var rebalance = state.rebalances[Self.key(namespace, name)] else {
                throw Self.notFound("rebalances \(name)")
            }
            var allLabels = rebalance.metadata.labels ?? [:]
            for (key, value) in labels { allLabels[key] = value }
            var allAnnotations = rebalance.metadata.annotations ?? [:]
            for (key, value) in annotations { allAnnotations[key] = value }
            rebalance.metadata.labels = allLabels
            rebalance.metadata.annotations = allAnnotations
            state.rebalances[Self.key(namespace, name)] = rebalance
            return rebalance
        }
    }

    public func deleteRebalance(namespace: String, name: String) async throws {
        try await enter(.deleteRebalance, name: name)
        _ = state.withLock { $0.rebalances.removeValue(forKey: Self.key(namespace, name)) }
    }

    /// The operator's part in a test: sets a Rebalance's status.
    public func setStatus(_ name: String, namespace: String = "default", _ status: RebalanceStatus?) {
        state.withLock { $0.rebalances[Self.key(namespace, name)]?.status = status }
    }

    public func lease(namespace: String, name: String) async throws -> Lease {
        try await enter(.getLease, name: name)
        guard let lease = state.withLock({ $0.leases[Self.key(namespace, name)] }) else {
            throw Self.notFound("lease \(name)")
        }
        return lease
    }

    public func createLease(_ lease: Lease) async throws -> Lease {
        let name = lease.metadata.name ?? ""
        try await enter(.createLease, name: name)
        return try state.withLock { state in
            let key = Self.key(lease.metadata.namespace ?? "", name)
            guard state.leases[key] == nil else {
                throw KubernetesError(
                    code: .alreadyExists,
                    request: nil,
                    statusCode: 409,
                    detail: "leases.coordination.k8s.io \"\(name)\" already exists"
                )
            }
            return Self.store(lease, at: key, in: &state)
        }
    }

    public func updateLease(_ lease: Lease) async throws -> Lease {
        let name = lease.metadata.name ?? ""
        try await enter(.updateLease, name: name)
        return try state.withLock { state in
            let key = Self.key(lease.metadata.namespace ?? "", name)
            guard let stored = state.leases[key] else { throw Self.notFound("lease \(name)") }
            guard lease.metadata.resourceVersion == stored.metadata.resourceVersion else {
                throw KubernetesError(
                    code: .conflict,
                    request: nil,
                    statusCode: 409,
                    detail:
                        "Operation cannot be fulfilled on leases.coordination.k8s.io \"\(name)\": the object has been modified"
                )
            }
            return Self.store(lease, at: key, in: &state)
        }
    }

    /// The Lease as stored (for assertions).
    public func storedLease(namespace: String, name: String) -> Lease? {
        state.withLock { $0.leases[Self.key(namespace, name)] }
    }

    /// Someone else writes the Lease (another holder, a person by hand): a new `resourceVersion`, as on a server.
    public func modifyLease(namespace: String, name: String, _ change: (inout Lease) -> Void) {
        state.withLock { state in
            let key = Self.key(namespace, name)
            guard var lease = state.leases[key] else { return }
            change(&lease)
            _ = Self.store(lease, at: key, in: &state)
        }
    }

    private static func store(_ lease: Lease, at key: String, in state: inout State) -> Lease {
        state.serial += 1
        var stored = lease
        stored.metadata.resourceVersion = "\(state.serial)"
        state.leases[key] = stored
        return stored
    }

    // Discovery serves no events.k8s.io/v1 here: the recorder writes core/v1 Events.
    public func createEventV1(_ event: EventsV1Event) async throws -> EventsV1Event {
        throw Self.notFound("events.k8s.io/v1")
    }

    public func patchEventV1Series(namespace: String, name: String, series: EventSeries) async throws -> EventsV1Event {
        throw Self.notFound("events.k8s.io/v1")
    }

    public func createEvent(_ event: KubernetesEvent) async throws -> KubernetesEvent {
        try await enter(.createEvent)
        return state.withLock { state in
            state.serial += 1
            var stored = event
            if stored.metadata.name == nil { stored.metadata.name = "event-\(state.serial)" }
            state.events[Self.key(stored.metadata.namespace ?? "", stored.metadata.name ?? "")] = stored
            return stored
        }
    }

    public func patchEvent(
        namespace: String,
        name: String,
        count: Int,
        lastTimestamp: String
    ) async throws -> KubernetesEvent {
        try await enter(.patchEvent, name: name)
        return try state.withLock { state in
            guard var event = state.events[Self.key(namespace, name)] else { throw Self.notFound("event \(name)") }
            event.count = count
            event.lastTimestamp = lastTimestamp
            state.events[Self.key(namespace, name)] = event
            return event
        }
    }

    // EMQX Operator 2.2: apps.emqx.io/v2beta1 with emqxes and rebalances.
    public func servedResources(groupVersion: String) async throws -> [String] {
        try await enter(.discovery)
        guard groupVersion == "\(OperatorAPIs.group)/v2beta1" else { throw Self.notFound(groupVersion) }
        return ["emqxes", "emqxes/status", "rebalances", "rebalances/status"]
    }

    public func servedVersions(group: String) async throws -> [String] {
        try await enter(.discovery)
        guard group == OperatorAPIs.group else { throw Self.notFound(group) }
        return ["v2beta1"]
    }
}
