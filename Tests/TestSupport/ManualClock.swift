import AutorebalancerCore
import Foundation
import Synchronization

/// A clock that moves only when a test says so, with a calendar date that moves with it.
///
/// Code under test sleeps on it as on any clock; `advance(by:)` wakes every sleeper whose deadline has passed. A test
/// never guesses how long the code takes to reach its sleep: `sleepers(atLeast:)` suspends until that many sleeps are
/// pending, so "advance, then check" holds on a loaded machine too.
public final class ManualClock: Clock, Sendable {
    public typealias Duration = Swift.Duration

    public struct Instant: InstantProtocol, Sendable {
        /// Time since the clock was made.
        public var offset: Swift.Duration

        public init(offset: Swift.Duration) { self.offset = offset }

        public func advanced(by duration: Swift.Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Swift.Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private enum Sleep {
        case waiting(deadline: Instant, CheckedContinuation<Void, any Error>)
        /// Cancelled before its continuation was registered.
        case cancelled
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextID = 0
        var sleeps: [Int: Sleep] = [:]
        var watchers: [Int: (count: Int, continuation: CheckedContinuation<Void, Never>)] = [:]
        /// Watchers cancelled before they were registered.
        var cancelledWatchers: Set<Int> = []
        /// How long each sleep started since the clock was made asked for, in order (finished ones included).
        var lengths: [Swift.Duration] = []

        var pending: Int {
            sleeps.values.filter { if case .waiting = $0 { true } else { false } }.count
        }

        mutating func takeSatisfiedWatchers() -> [CheckedContinuation<Void, Never>] {
            let pending = pending
            let ready = watchers.filter { $0.value.count <= pending }
            for id in ready.keys { watchers[id] = nil }
            return ready.values.map(\.continuation)
        }
    }

    private let state = Mutex(State())
    /// The calendar date at offset zero.
    public let startDate: Date

    public init(startDate: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        self.startDate = startDate
    }

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Swift.Duration { .zero }

    /// The calendar date now (`startDate` plus the time advanced so far).
    public var date: Date { startDate.addingTimeInterval(now.offset.seconds) }
    /// `date` as the `now` closure many components take.
    public var dateProvider: @Sendable () -> Date { { self.date } }

    /// Sleeps waiting for `advance`.
    public var pendingSleeps: Int { state.withLock { $0.pending } }
    /// Every sleep started so far, finished or not: lets a test see that the code slept exactly as often as expected.
    public var sleepsStarted: Int { state.withLock { $0.lengths.count } }
    /// How long each sleep started so far asked for, in order: what the code under test waited.
    public var sleepLengths: [Swift.Duration] { state.withLock { $0.lengths } }

    public func sleep(until deadline: Instant, tolerance: Swift.Duration? = nil) async throws {
        let id: Int = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Start {
                    case wait([CheckedContinuation<Void, Never>])
                    case resume, cancel
                }
                let start: Start = state.withLock { state in
                    state.lengths.append(state.now.duration(to: deadline))
                    if case .cancelled = state.sleeps[id] {
                        state.sleeps[id] = nil
                        return .cancel
                    }
                    if deadline <= state.now { return .resume }
                    state.sleeps[id] = .waiting(deadline: deadline, continuation)
                    return .wait(state.takeSatisfiedWatchers())
                }
                switch start {
                case .wait(let watchers): for watcher in watchers { watcher.resume() }
                case .resume: continuation.resume()
                case .cancel: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, any Error>? = state.withLock { state in
                switch state.sleeps[id] {
                case .waiting(_, let continuation)?:
                    state.sleeps[id] = nil
                    return continuation
                case .cancelled?:
                    return nil
                case nil:
                    state.sleeps[id] = .cancelled
                    return nil
                }
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline is reached.
    public func advance(by duration: Swift.Duration) {
        let due: [CheckedContinuation<Void, any Error>] = state.withLock { state in
            state.now = state.now.advanced(by: duration)
            var due: [CheckedContinuation<Void, any Error>] = []
            for (id, sleep) in state.sleeps {
                if case .waiting(let deadline, let continuation) = sleep, deadline <= state.now {
                    due.append(continuation)
                    state.sleeps[id] = nil
                }
            }
            return due
        }
        for continuation in due { continuation.resume() }
    }

    /// Waits until at least `count` sleeps are pending (the code under test reached its sleep), or the task is
    /// cancelled.
    public func sleepers(atLeast count: Int = 1) async {
        let id: Int = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready: Bool = state.withLock { state in
                    if state.pending >= count || state.cancelledWatchers.remove(id) != nil { return true }
                    state.watchers[id] = (count, continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, Never>? = state.withLock { state in
                if let watcher = state.watchers.removeValue(forKey: id) { return watcher.continuation }
                state.cancelledWatchers.insert(id)
                return nil
            }
            continuation?.resume()
        }
    }

    /// Moves time to the earliest pending sleep's deadline, waking it (nothing happens when nothing sleeps).
    public func advanceToNextDeadline() {
        let step: Swift.Duration? = state.withLock { state in
            let deadlines = state.sleeps.values.compactMap {
                if case .waiting(let deadline, _) = $0 { deadline } else { nil }
            }
            return deadlines.min().map { max(state.now.duration(to: $0), .zero) }
        }
        if let step { advance(by: step) }
    }

    /// Runs `body` and wakes every sleep it starts as soon as it starts, time jumping to the sleep's deadline: code
    /// with backoffs runs without waiting, and `sleepLengths` tells what it waited.
    public func advancingEverySleep<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        let advancer = Task {
            while !Task.isCancelled {
                await sleepers(atLeast: 1)
                advanceToNextDeadline()
            }
        }
        defer { advancer.cancel() }
        return try await body()
    }

    /// Waits for the code under test to sleep, then advances past its deadline: one step of a retry or poll loop.
    public func advanceWhenSleeping(by duration: Swift.Duration) async {
        await sleepers(atLeast: 1)
        advance(by: duration)
    }
}
