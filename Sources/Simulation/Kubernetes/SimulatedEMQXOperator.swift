import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The EMQX Operator (2.2.x), simulated: its EMQX controller keeps each bound EMQX object's status in line with the
/// nodes' HTTP API (nodes, counts, `Ready`/`Running`, revisions, evacuations, the `apps.emqx.io/on-serving` readiness
/// gate from `availability_check`), and its Rebalance controller runs each `Rebalance` as the real one does:
/// `Failed` at once when the target is missing, not ready or not Enterprise; otherwise `POST …/load_rebalance/<nodes[0]>/start`
/// with basic auth, `Processing`, a `global_status` poll every 5 s of clock time, `Completed` when EMQX reports no
/// rebalance, its Events, its finalizer.
///
/// A `Service` on any `Clock<Duration>` (the demo runs it on a `SimulationClock`); `reconcileOnce()` runs one pass
/// for tests that step it by hand.
public final class SimulatedEMQXOperator<C: Clock<Duration>>: Service, Sendable {
    /// Timing and faults.
    public struct Configuration: Sendable {
        /// How often the controllers look for work (clock time).
        public var tickInterval: Duration
        /// The Rebalance controller's requeue while `Processing` (the real one: 5 s).
        public var rebalancePollInterval: Duration
        /// How often each EMQX object's status is refreshed from the nodes (clock time).
        public var emqxRefreshInterval: Duration
        /// Wall-time timeout of each request to EMQX.
        public var requestTimeout: Duration
        public var faults: OperatorFaults
        /// Clock time from a scale-out until a new pod's node runs (image pull, boot, cluster join), and the extra
        /// delay of each further pod of the same scale-out.
        public var podStartDelay: Duration
        public var podStartStagger: Duration
        /// 3.0's evacuation of a replicant it removes (`evacuationStrategy` defaults, `api/v3beta1/emqx_types_spec.go`).
        public var evacuation: EvacuationStrategy

        public init(
            tickInterval: Duration = .seconds(1),
            rebalancePollInterval: Duration = .seconds(5),
            emqxRefreshInterval: Duration = .seconds(5),
            requestTimeout: Duration = .seconds(5),
            faults: OperatorFaults = OperatorFaults(),
            podStartDelay: Duration = .seconds(15),
            podStartStagger: Duration = .seconds(5),
            evacuation: EvacuationStrategy = EvacuationStrategy()
        ) {
            self.tickInterval = tickInterval
            self.rebalancePollInterval = rebalancePollInterval
            self.emqxRefreshInterval = emqxRefreshInterval
            self.requestTimeout = requestTimeout
            self.faults = faults
            self.podStartDelay = podStartDelay
            self.podStartStagger = podStartStagger
            self.evacuation = evacuation
        }
    }

    /// `spec.updateStrategy.evacuationStrategy` of v3beta1: rates per second, waits in seconds.
    public struct EvacuationStrategy: Sendable, Hashable {
        public var connectionEvictionRate: Int
        public var sessionEvictionRate: Int
        public var waitTakeover: Int
        public var waitHealthCheck: Int

        public init(
            connectionEvictionRate: Int = 1000,
            sessionEvictionRate: Int = 1000,
            waitTakeover: Int = 10,
            waitHealthCheck: Int = 60
        ) {
            self.connectionEvictionRate = connectionEvictionRate
            self.sessionEvictionRate = sessionEvictionRate
            self.waitTakeover = waitTakeover
            self.waitHealthCheck = waitHealthCheck
        }
    }

    struct State {
        var faults: OperatorFaults
        var nextPoll: [String: C.Instant] = [:]
        var lastWritten: [String: String] = [:]
        var nextRefresh: [String: C.Instant] = [:]
        var lastRefreshedBinding: [String: EMQXBinding] = [:]
        /// Per EMQX object: node → on-serving gate (`nil`: the check failed, condition Unknown).
        var gates: [String: [String: Bool?]] = [:]
        /// Per EMQX object: pods of a scale-out not running yet (role, when its node starts).
        var pendingStarts: [String: [(role: NodeRole, at: C.Instant)]] = [:]
        /// Per EMQX object: node → pod the operator is removing (3.0: marked `apps.emqx.io/scaling-down`, evacuating).
        var removing: [String: [String: String]] = [:]
        /// Per EMQX object: the pod objects last written, by pod name.
        var podObjects: [String: [String: KubernetesJSON]] = [:]
    }

    public static var finalizer: String { "apps.emqx.io/finalizer" }

    let api: SimulatedKubernetesAPI
    let clock: C
    let configuration: Configuration
    let logger: Logger
    let state: Mutex<State>
    let http: HTTPClient

    public init(
        api: SimulatedKubernetesAPI,
        clock: C,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "simulated-emqx-operator")
    ) {
        self.api = api
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(State(faults: configuration.faults))
        self.http = HTTPClient.shared
    }

    /// Switches faults at runtime.
    public func setFaults(_ faults: OperatorFaults) {
        state.withLock { $0.faults = faults }
    }

    public var faults: OperatorFaults { state.withLock { $0.faults } }

    /// Reconciles until cancelled or gracefully shut down.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    await self.reconcileOnce()
                    try await self.clock.sleep(for: self.configuration.tickInterval)
                }
            }
        } catch is CancellationError {
            return
        }
    }

    /// One pass of both controllers: refresh the EMQX objects that are due, then reconcile the Rebalances that are due
    /// (new ones, changed ones, `Processing` ones whose poll interval passed).
    public func reconcileOnce() async {
        let now = clock.now
        for binding in api.emqxBindingList {
            let due = state.withLock { state in
                state.lastRefreshedBinding[binding.key] != binding
                    || state.nextRefresh[binding.key].map { now >= $0 } ?? true
            }
            if due { await refreshEMQX(binding) }
        }
        for object in api.objects(.rebalances) {
            guard let uid = object.value(atPath: "metadata.uid")?.stringValue else { continue }
            let rv = object.value(atPath: "metadata.resourceVersion")?.stringValue
            let phase = object.value(atPath: "status.phase")?.stringValue ?? ""
            let deleting = object.value(atPath: "metadata.deletionTimestamp") != nil
            let due = state.withLock { state -> Bool in
                if state.lastWritten[uid] != rv { return true }  // created or changed by someone else: a watch event
                // Requeued: Processing ones every poll interval; a deleting one retries until its finalizer can go.
                if phase == "Processing" || phase.isEmpty || deleting {
                    return state.nextPoll[uid].map { now >= $0 } ?? true
                }
                return false
            }
            if due { await reconcileRebalance(object) }
        }
    }

    // MARK: EMQX helpers

    /// The basic-auth request to an EMQX node, as the operator's requester makes it.
    func emqxRequest(
        _ method: String,
        _ url: URL,
        body: KubernetesJSON? = nil,
        auth: (String, String)?
    ) async throws -> (status: Int, body: KubernetesJSON?) {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .init(rawValue: method)
        if let auth {
            request.headers.add(
                name: "Authorization",
                value: "Basic " + Data("\(auth.0):\(auth.1)".utf8).base64EncodedString()
            )
        }
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.data()))
        }
        let response = try await http.execute(request, timeout: TimeAmount(configuration.requestTimeout))
        let buffer = try await response.body.collect(upTo: 16 << 20)
        let data = Data(buffer: buffer)
        return (Int(response.status.code), data.isEmpty ? nil : try? KubernetesJSON.parse(data))
    }

    /// Go's `resp.Status` text for a code (`400 Bad Request`).
    static func statusLine(_ code: Int) -> String {
        let phrases: [Int: String] = [
            400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout",
        ]
        return "\(code) \(phrases[code] ?? "")".trimmingCharacters(in: .whitespaces)
    }

    /// Scenario: stops the rebalance EMQX is running for this EMQX object, as `emqx ctl rebalance stop` or a node
    /// restart would, without touching any Rebalance object. The operator then sees an empty `global_status` and marks
    /// the Rebalance `Completed` (the real operator's "Completed after an aborted rebalance"). Returns EMQX's answer code.
    @discardableResult
    public func abortRunningRebalance(namespace: String, emqxName: String) async throws -> Int {
        guard let binding = api.emqxBinding(namespace: namespace, name: emqxName),
            let endpoint = binding.endpoints.first
        else {
            throw SimulatedOperatorError(message: "no EMQX object \(namespace)/\(emqxName) was added with addEMQX")
        }
        let auth = (binding.username, binding.password)
        let status = try await emqxRequest(
            "GET",
            endpoint.baseURL.appending(path: "\(binding.apiPrefix)/load_rebalance/global_status"),
            auth: auth
        )
        let coordinator =
            Self.rebalanceEntries(status.body).first?["coordinator_node"]?.stringValue
            ?? Self.rebalanceEntries(status.body).first?["node"]?.stringValue
        guard let coordinator else { return 404 }
        return try await emqxRequest(
            "POST",
            endpoint.baseURL.appending(path: "\(binding.apiPrefix)/load_rebalance/\(coordinator)/stop"),
            auth: auth
        ).status
    }

    /// The `rebalances` of a `global_status` answer (also under `data` for EMQX 4); an object counts as one entry.
    static func rebalanceEntries(_ body: KubernetesJSON?) -> [KubernetesJSON] {
        let value = body?["rebalances"] ?? body?["data"]?["rebalances"]
        switch value {
        case .array(let entries)?: return entries
        case .object(let object)? where !object.isEmpty: return [.object(object)]
        default: return []
        }
    }
}

/// Faults seen in the real operator, switchable.
public struct OperatorFaults: Sendable, Hashable {
    /// EMQX 5: donors answer 503 on `availability_check`, their pods' `apps.emqx.io/on-serving` gate goes False, the
    /// EMQX object loses `Ready`, and the Rebalance controller's next poll marks the Rebalance
    /// `Failed: EMQX <name> is not ready` while EMQX keeps rebalancing. Off: the gate does not affect `Ready`.
    public var readinessGateRemovesReady: Bool

    public init(readinessGateRemovesReady: Bool = false) {
        self.readinessGateRemovesReady = readinessGateRemovesReady
    }
}

/// A scenario call that cannot be done (which object, what to do).
public struct SimulatedOperatorError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
