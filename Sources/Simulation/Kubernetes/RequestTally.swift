import Synchronization

/// Counts the requests a simulated server answered, by verb and resource: what tests and the footprint benchmark
/// read to see how much an agent asks of the API server.
public final class RequestTally: Sendable {
    public struct Key: Hashable, Sendable, CustomStringConvertible {
        /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete` (or the HTTP method for other paths).
        public var verb: String
        /// The resource plural (`rebalances`), or `discovery` for discovery and `/version`.
        public var resource: String

        public init(verb: String, resource: String) {
            self.verb = verb
            self.resource = resource
        }

        public var description: String { "\(verb) \(resource)" }
    }

    private let counts = Mutex<[Key: Int]>([:])
    /// The latest requests, oldest first (bounded: a long demo must not grow it without end).
    private let latest = Mutex<[LoggedRequest]>([])
    static let logLimit = 10_000

    public init() {}

    func count(verb: String, resource: String) {
        counts.withLock { $0[Key(verb: verb, resource: resource), default: 0] += 1 }
    }

    func log(_ request: LoggedRequest) {
        latest.withLock { log in
            if log.count >= Self.logLimit { log.removeFirst(log.count - Self.logLimit + 1) }
            log.append(request)
        }
    }

    /// The latest requests (at most `logLimit`), oldest first.
    public var log: [LoggedRequest] { latest.withLock { $0 } }

    /// Requests so far.
    public var snapshot: [Key: Int] { counts.withLock { $0 } }

    /// All requests so far.
    public var total: Int { counts.withLock { $0.values.reduce(0, +) } }
}

extension SimulatedKubernetesAPI {
    /// Requests answered so far, by verb and resource.
    public var requestCounts: [RequestTally.Key: Int] { tally.snapshot }

    /// The latest requests received (at most 10,000), oldest first.
    public var requestLog: [LoggedRequest] { tally.log }
}

/// Requests the `.hold` fault keeps unanswered.
final class HeldRequests: Sendable {
    private struct State {
        var waiting: [CheckedContinuation<Void, Never>] = []
        var released = false
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.waiting.count } }

    func hold() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.released { return true }
                state.waiting.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Lets every held request go; with `forever`, later ones are not held either (shutdown).
    func releaseAll(forever: Bool = true) {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if forever { state.released = true }
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}

extension SimulatedKubernetesAPI {
    /// How many requests the `.hold` fault keeps waiting now.
    public var heldRequests: Int { held.count }

    /// Answers every request held by `.hold` (with a 500).
    public func releaseHeldRequests() {
        held.releaseAll(forever: false)
    }
}
