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

    public init() {}

    func count(verb: String, resource: String) {
        counts.withLock { $0[Key(verb: verb, resource: resource), default: 0] += 1 }
    }

    /// Requests so far.
    public var snapshot: [Key: Int] { counts.withLock { $0 } }

    /// All requests so far.
    public var total: Int { counts.withLock { $0.values.reduce(0, +) } }
}

extension SimulatedKubernetesAPI {
    /// Requests answered so far, by verb and resource.
    public var requestCounts: [RequestTally.Key: Int] { tally.snapshot }
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
