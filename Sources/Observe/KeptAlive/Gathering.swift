import Synchronization

/// The outcomes of a batch of exchanges (``KeptAliveConnections/get(_:accept:fetch:)``), gathered from the event
/// loops they end on: the caller wakes once, when the last has ended, not once per exchange.
final class Gathering<Result: Sendable>: Sendable {
    private struct State {
        var results: [Swift.Result<Result, SourceFetchError>?]
        /// One more than the exchanges still running until every callback is set, so the last exchange to end
        /// cannot resume the caller while callbacks are still being set.
        var waiting: Int
        var continuation: CheckedContinuation<Void, Never>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), waiting: count + 1))
    }

    func start(_ continuation: CheckedContinuation<Void, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    func record(_ result: Swift.Result<Result, SourceFetchError>, at index: Int) {
        state.withLock { $0.results[index] = result }
        countDown()
    }

    /// Every callback is set.
    func started() {
        countDown()
    }

    private func countDown() {
        let finished = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.waiting -= 1
            guard state.waiting == 0 else { return nil }
            defer { state.continuation = nil }
            return state.continuation
        }
        finished?.resume()
    }

    /// Every exchange has ended once the caller is resumed, so every slot is filled; the placeholder only keeps the
    /// results in line with the exchanges.
    var results: [Swift.Result<Result, SourceFetchError>] {
        state.withLock { $0.results.map { $0 ?? .failure(.transport(url: "", reason: "ended without an outcome")) } }
    }
}
