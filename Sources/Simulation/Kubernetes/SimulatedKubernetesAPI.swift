import AutorebalancerCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A simulated Kubernetes API server on loopback (HTTP), serving what the agent uses, in the real JSON shapes and
/// status codes: the EMQX Operator's `emqxes` (v2beta1), `emqxenterprises` (v1beta4) and `rebalances` (v2beta1, with
/// the CRD's schema and the operator's webhook), `coordination.k8s.io/v1` Leases with optimistic concurrency, core
/// `events`, and discovery. Bearer-token authentication, per-verb denials (403 with RBAC's wording) and fault switches
/// (latency, 429/500, dropped connections, a create stored then answered 500).
///
/// It is a `Service`: run it in a `ServiceGroup` (or with `withRunning`), then read `baseURL()`.
/// The `SimulatedEMQXOperator` works on the same objects.
public final class SimulatedKubernetesAPI: Service, Sendable {
    /// Server settings.
    public struct Configuration: Sendable {
        /// Bind address; loopback by default.
        public var host: String
        /// 0 picks a free port; read it with `baseURL()`.
        public var port: Int
        /// Accepted bearer tokens and the user each one authenticates as.
        public var tokens: [String: String]
        /// The wall or simulated date written into timestamps (`creationTimestamp`, `deletionTimestamp`).
        public var now: @Sendable () -> Date
        /// The EMQX Operator generation installed: which `apps.emqx.io` versions and resources are served
        /// (`ResourceType.served(by:)`) and which status shape the simulated operator writes.
        public var operatorGeneration: OperatorGeneration
        /// Structural schemas EMQX objects are checked against, by `plural/version` (e.g. `emqxes/v2beta1`): the
        /// operator's real CRDs where a caller has them (tests load ../shared/fixtures/crds). Without one, `v2` and
        /// `v3beta1` objects are checked against the minimal schemas written from the operator's Go types
        /// (`EMQXObjectSchemas`), and `v2beta1`/`v1beta4` objects are not checked.
        public var schemas: [String: StructuralSchema]
        /// How many changes a watch can resume from (older resourceVersions are answered 410 Gone).
        public var watchHistory: Int
        /// How often watches that allow bookmarks get one (wall time); `nil`: only on `sendWatchBookmarks()`.
        public var watchBookmarkInterval: Duration?

        public init(
            host: String = "127.0.0.1",
            port: Int = 0,
            tokens: [String: String] = [SimulatedKubernetesAPI.defaultToken: SimulatedKubernetesAPI.defaultUser],
            now: @escaping @Sendable () -> Date = { Date() },
            operatorGeneration: OperatorGeneration = .v2_2,
            schemas: [String: StructuralSchema] = [:],
            watchHistory: Int = 1000,
            watchBookmarkInterval: Duration? = .seconds(60)
        ) {
            self.host = host
            self.port = port
            self.tokens = tokens
            self.now = now
            self.operatorGeneration = operatorGeneration
            self.schemas = schemas
            self.watchHistory = watchHistory
            self.watchBookmarkInterval = watchBookmarkInterval
        }
    }

    /// The token accepted unless configured otherwise.
    public static let defaultToken = "simulated-token"
    /// The user `defaultToken` authenticates as (the agent's service account).
    public static let defaultUser = "system:serviceaccount:default:emqx-autorebalancer"

    struct Denial: Hashable {
        var verb: String
        var resource: String
        var namespace: String?
    }

    struct FaultRule {
        var fault: APIFault
        var remaining: Int?
        var verb: String?
        var resource: String?
    }

    struct Controls {
        var tokens: [String: String]
        var denials: Set<Denial> = []
        var latency: Duration = .zero
        var faults: [FaultRule] = []
        /// `group/version`s not served (discovery and paths answer 404).
        var unserved: Set<String> = []
        /// Types served besides the operator generation's (`serveFreeForm`).
        var freeForm: [ResourceType] = []
    }

    private enum Binding {
        case starting([CheckedContinuation<Int, any Error>])
        case running(Int)
        case stopped
    }

    let configuration: Configuration
    let logger: Logger
    let store: KubernetesObjectStore
    let controls: Mutex<Controls>
    let emqx = Mutex<[String: EMQXBinding]>([:])
    /// The operator generation installed now (`upgradeOperator(to:)` changes it under running clients).
    let generation: Mutex<OperatorGeneration>
    /// EMQX objects that failed their schema when written, worded as the API server's `is invalid` message.
    let violations = Mutex<[String]>([])
    /// Requests answered, by verb and resource (`requestCounts`).
    let tally = RequestTally()
    /// Requests held by the `.hold` fault.
    let held = HeldRequests()
    let endpointProviders = Mutex<[String: @Sendable () -> [String: URL]]>([:])
    let podControls = Mutex<[String: EMQXPodControl]>([:])
    private let binding = Mutex(Binding.starting([]))

    public init(
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "simulated-kubernetes-api")
    ) {
        self.configuration = configuration
        self.logger = logger
        self.store = KubernetesObjectStore(now: configuration.now, watchHistory: configuration.watchHistory)
        self.controls = Mutex(Controls(tokens: configuration.tokens))
        self.generation = Mutex(configuration.operatorGeneration)
    }

    // MARK: Lifecycle

    /// Serves until cancelled or gracefully shut down.
    public func run() async throws {
        let responder = CallbackResponder<SimulatedAPIRequestContext> { [self] request, context in
            try await self.respond(to: request, context: context)
        }
        let app = Application(
            responder: responder,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: nil
            ),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? 0
                let waiters = binding.withLock { state -> [CheckedContinuation<Int, any Error>] in
                    if case .starting(let waiters) = state {
                        state = .running(port)
                        return waiters
                    }
                    return []
                }
                for waiter in waiters { waiter.resume(returning: port) }
            },
            logger: logger
        )
        defer { markStopped() }
        // Open watches would hold a graceful shutdown up forever: they end when it begins.
        let store = store
        let held = held
        try await withGracefulShutdownHandler {
            try await app.run()
        } onGracefulShutdown: {
            store.endWatches(refusingNew: true)
            held.releaseAll()
        }
    }

    private func markStopped() {
        let waiters = binding.withLock { state -> [CheckedContinuation<Int, any Error>] in
            defer { state = .stopped }
            if case .starting(let waiters) = state { return waiters }
            return []
        }
        for waiter in waiters { waiter.resume(throwing: CancellationError()) }
    }

    /// The bound port, once the server listens (waits until then).
    public func port() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Int? = binding.withLock { state in
                switch state {
                case .running(let port): return port
                case .starting(var waiters):
                    waiters.append(continuation)
                    state = .starting(waiters)
                    return nil
                case .stopped: return -1
                }
            }
            if let ready {
                if ready < 0 {
                    continuation.resume(throwing: CancellationError())
                } else {
                    continuation.resume(returning: ready)
                }
            }
        }
    }

    /// `http://127.0.0.1:PORT`, once the server listens.
    public func baseURL() async throws -> URL {
        URL(string: "http://\(configuration.host):\(try await port())")!
    }

    /// Runs the server for the duration of `body` (structured: the server shuts down gracefully when `body` returns
    /// or throws).
    public func withRunning<T: Sendable>(_ body: @Sendable (SimulatedKubernetesAPI) async throws -> T) async throws -> T
    {
        let group = ServiceGroup(services: [self], gracefulShutdownSignals: [], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                _ = try await port()
                let result = try await body(self)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                // Wait for the server to stop rather than leave it to be cancelled (see apple/swift-nio #3481).
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    // MARK: Authentication and authorisation

    /// Replaces the accepted tokens (token → user name); requests with any other token get 401.
    public func setTokens(_ tokens: [String: String]) {
        controls.withLock { $0.tokens = tokens }
    }

    /// Accepts one more token (token rotation: add the new, then revoke the old).
    public func addToken(_ token: String, user: String = SimulatedKubernetesAPI.defaultUser) {
        controls.withLock { $0.tokens[token] = user }
    }

    /// Stops accepting a token.
    public func revokeToken(_ token: String) {
        controls.withLock { _ = $0.tokens.removeValue(forKey: token) }
    }

    /// Denies a verb (`get`, `list`, `create`, `update`, `patch`, `delete`) on a resource plural (`rebalances`),
    /// in one namespace or (nil) everywhere: answered 403 with RBAC's message.
    public func deny(verb: String, resource: String, namespace: String? = nil) {
        controls.withLock { _ = $0.denials.insert(Denial(verb: verb, resource: resource, namespace: namespace)) }
    }

    /// Lifts a denial made with `deny`.
    public func allow(verb: String, resource: String, namespace: String? = nil) {
        controls.withLock { _ = $0.denials.remove(Denial(verb: verb, resource: resource, namespace: namespace)) }
    }

    // MARK: Faults

    /// Delay before every answer (wall time).
    public func setLatency(_ latency: Duration) {
        controls.withLock { $0.latency = latency }
    }

    /// Injects a fault for the next `times` matching requests (`nil`: until `clearFaults`), optionally only for one
    /// verb and/or resource plural. Faults apply after latency and before authentication, like a failing front end.
    public func injectFault(_ fault: APIFault, times: Int? = 1, verb: String? = nil, resource: String? = nil) {
        controls.withLock {
            $0.faults.append(FaultRule(fault: fault, remaining: times, verb: verb, resource: resource))
        }
    }

    /// Removes every injected fault and the latency.
    public func clearFaults() {
        controls.withLock {
            $0.faults = []
            $0.latency = .zero
        }
    }

    /// Takes the fault that applies to this request, if any (consuming one use).
    func takeFault(verb: String?, resource: String?) -> APIFault? {
        controls.withLock { controls in
            guard
                let index = controls.faults.firstIndex(where: { rule in
                    (rule.verb == nil || rule.verb == verb) && (rule.resource == nil || rule.resource == resource)
                        && rule.fault.applies(to: verb)
                })
            else { return nil }
            let fault = controls.faults[index].fault
            if let remaining = controls.faults[index].remaining {
                if remaining <= 1 {
                    controls.faults.remove(at: index)
                } else {
                    controls.faults[index].remaining = remaining - 1
                }
            }
            return fault
        }
    }

    // MARK: Stored objects (direct access for scenarios and assertions)

    /// Stores an object as given, bypassing admission (scenario set-up). Missing system fields are filled in. EMQX
    /// objects are still pruned and checked against their schema, as the API server would (see `schemaViolations`).
    @discardableResult
    public func putObject(_ type: ResourceType, namespace: String, _ object: KubernetesJSON) -> KubernetesJSON {
        store.put(type, namespace: namespace, object: checkedEMQXObject(object, type: type))
    }

    /// Stores a typed object (an `EMQXResource`, `EmqxEnterpriseResource`, `Lease`, …) as given.
    @discardableResult
    public func putObject(_ type: ResourceType, namespace: String, _ object: some Encodable) throws -> KubernetesJSON {
        store.put(type, namespace: namespace, object: try KubernetesJSON.from(object))
    }

    /// Removes an object outright (e.g. the EMQX object is deleted).
    public func removeObject(_ type: ResourceType, namespace: String, name: String) {
        store.remove(type, namespace: namespace, name: name)
    }

    /// The stored object, exactly as the server would answer a GET.
    public func object(_ type: ResourceType, namespace: String, name: String) -> KubernetesJSON? {
        store.get(type, namespace: namespace, name: name)
    }

    /// Stored objects of a type (sorted by namespace and name); `nil` namespace for all.
    public func objects(_ type: ResourceType, namespace: String? = nil) -> [KubernetesJSON] {
        store.list(type, namespace: namespace).items
    }

    /// A stored Rebalance, decoded.
    public func rebalance(namespace: String, name: String) -> Rebalance? {
        try? object(.rebalances, namespace: namespace, name: name)?.decode(Rebalance.self)
    }

    /// Stored Rebalances, decoded (ones that do not decode, e.g. without a spec, are left out).
    public func rebalances(namespace: String? = nil) -> [Rebalance] {
        objects(.rebalances, namespace: namespace).compactMap { try? $0.decode(Rebalance.self) }
    }

    /// Stored Events, decoded, oldest first.
    /// Stops serving a group version (`events.k8s.io/v1`), as an older API server would not serve it.
    public func stopServing(groupVersion: String) {
        _ = controls.withLock { $0.unserved.insert(groupVersion) }
    }

    /// Every Event as core/v1 shows it: core/v1 ones, and `events.k8s.io/v1` ones converted as the API server does
    /// (`regarding` → `involvedObject`, `note` → `message`, `series` → `count` and `lastTimestamp`).
    public func events(namespace: String? = nil) -> [KubernetesEvent] {
        let core = objects(.events, namespace: namespace).compactMap { try? $0.decode(KubernetesEvent.self) }
        let v1 = eventsV1(namespace: namespace).map(Self.coreView)
        return (core + v1).sorted {
            ($0.firstTimestamp ?? "", $0.metadata.name ?? "") < ($1.firstTimestamp ?? "", $1.metadata.name ?? "")
        }
    }

    static func coreView(_ event: EventsV1Event) -> KubernetesEvent {
        let count: Int = event.series?.count ?? 1
        let last: String = event.series?.lastObservedTime ?? event.eventTime
        return KubernetesEvent(
            metadata: event.metadata,
            involvedObject: event.regarding,
            reason: event.reason,
            message: event.note ?? "",
            type: event.type ?? "",
            count: count,
            firstTimestamp: event.eventTime,
            lastTimestamp: last,
            source: nil,
            reportingComponent: event.reportingController,
            reportingInstance: event.reportingInstance,
            action: event.action
        )
    }

    /// The `events.k8s.io/v1` Events as written.
    public func eventsV1(namespace: String? = nil) -> [EventsV1Event] {
        objects(.eventsV1, namespace: namespace).compactMap { try? $0.decode(EventsV1Event.self) }
            .sorted { ($0.eventTime, $0.metadata.name ?? "") < ($1.eventTime, $1.metadata.name ?? "") }
    }

    /// A stored Lease, decoded.
    public func lease(namespace: String, name: String) -> Lease? {
        try? object(.leases, namespace: namespace, name: name)?.decode(Lease.self)
    }

    /// The current date as the server stamps it.
    public var now: Date { configuration.now() }

    /// The operator generation this server plays.
    public var operatorGeneration: OperatorGeneration { generation.withLock { $0 } }

    /// What the installed operator generation serves, and its discovery documents.
    var served: [ResourceType] {
        let (unserved, freeForm) = controls.withLock { ($0.unserved, $0.freeForm) }
        return (ResourceType.served(by: operatorGeneration) + freeForm).filter { !unserved.contains($0.apiVersion) }
    }
    var discovery: KubernetesDiscovery { KubernetesDiscovery(served: served) }

    /// Scenario: the operator (and its CRDs) is upgraded or replaced under running clients: from now on the API
    /// serves what `generation` serves, and the simulated operator writes that generation's status. Stored objects
    /// stay (as the API server's storage does); a client still asking for a version no longer served gets 404.
    public func upgradeOperator(to generation: OperatorGeneration) {
        self.generation.withLock { $0 = generation }
    }

    /// EMQX objects written so far that broke their schema (empty when every write conformed).
    public var schemaViolations: [String] { violations.withLock { $0 } }

    /// The type a kind of EMQX object is served as by this server's operator generation (EmqxEnterprise keeps its
    /// only version, served or not).
    public func resourceType(for kind: EMQXBinding.Kind) -> ResourceType {
        switch kind {
        case .emqxEnterprise: .emqxEnterprises
        case .emqx: served.first { $0.plural == "emqxes" } ?? .emqxes
        }
    }
}

/// The request context: Hummingbird's basics plus the channel, so a fault can close the connection unanswered.
public struct SimulatedAPIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
