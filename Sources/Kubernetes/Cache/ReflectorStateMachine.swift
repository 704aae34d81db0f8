/// List + watch of one scope as a value, in the manner of client-go's Reflector and kube-rs's watcher: list, then
/// watch from the list's resourceVersion, resume from the last version seen when a watch ends, list again on
/// `410 Gone`, back off with jitter after failures, and poll by listing where watching is forbidden. The owner
/// (`Reflector`) performs the calls and reports what happened.
public struct ReflectorStateMachine: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Delays after failures in a row: 0.8 s doubling to 30 s with jitter (client-go's reflector backoff).
        public var backoff: RetryPolicy
        /// How often a scope whose watch is forbidden is listed instead.
        public var pollInterval: Duration
        /// A watch asks the server to end it after a time in this range (client-go: 5 to 10 minutes), so
        /// connections are renewed and an idle half-open one cannot hang forever.
        public var watchTimeout: ClosedRange<Duration>

        public init(
            backoff: RetryPolicy = RetryPolicy(
                maxAttempts: .max,
                baseDelay: .milliseconds(800),
                maxDelay: .seconds(30)
            ),
            pollInterval: Duration = .seconds(30),
            watchTimeout: ClosedRange<Duration> = .seconds(300) ... .seconds(600)
        ) {
            self.backoff = backoff
            self.pollInterval = pollInterval
            self.watchTimeout = watchTimeout
        }
    }

    /// How the scope is kept current.
    public enum Mode: Sendable, Hashable {
        case watching
        /// Watching is forbidden (RBAC grants list but not watch): listed every `pollInterval`.
        case polling(reason: String)
    }

    /// What the owner does next.
    public enum Action: Sendable, Hashable {
        case list
        case watch(from: String, timeout: Duration)
        /// Wait, then ask again.
        case sleep(Duration)
    }

    /// What the owner should tell a person about a step.
    public enum Note: Sendable, Hashable {
        /// The watch is forbidden; the scope is polled from now on.
        case polling(reason: String)
        /// The watch's resourceVersion expired: listing again.
        case relisting
        /// A call failed; the next attempt waits `retryIn`.
        case failed(reason: String, failures: Int, retryIn: Duration)
    }

    private enum Step: Sendable, Hashable {
        case list
        case watch(from: String)
    }

    public let configuration: Configuration
    public private(set) var mode: Mode = .watching
    /// A list has succeeded (the store holds a whole snapshot).
    public private(set) var synced = false
    /// Failed calls in a row.
    public private(set) var failures = 0
    /// The newest resourceVersion seen (from a list, an event or a bookmark).
    public private(set) var resourceVersion: String?
    private var step: Step = .list
    private var delay: Duration?
    /// Events were lost (410): the store is behind until the next list.
    private var behind = false

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Whether reads may be served from the store: it holds a snapshot and nothing has failed since.
    public var isCurrent: Bool { synced && failures == 0 && !behind }

    /// The next call to make. `random` (in 0..<1) spreads watch timeouts.
    public mutating func next(random: Double) -> Action {
        if let delay {
            self.delay = nil
            return .sleep(delay)
        }
        switch step {
        case .list:
            return .list
        case .watch(let from):
            let range = configuration.watchTimeout
            let spread = (range.upperBound - range.lowerBound) * max(0, min(random, 1))
            return .watch(from: from, timeout: range.lowerBound + spread)
        }
    }

    /// A list succeeded; the store now holds exactly its items.
    public mutating func listed(resourceVersion: String?) {
        synced = true
        failures = 0
        behind = false
        self.resourceVersion = resourceVersion
        switch (mode, resourceVersion) {
        case (.watching, let version?) where !version.isEmpty:
            step = .watch(from: version)
        default:
            // Polling, or a server that gave no version to resume from.
            step = .list
            delay = configuration.pollInterval
        }
    }

    /// A list failed: try again after a backoff.
    public mutating func listFailed(_ error: KubernetesError, random: Double) -> Note {
        failures += 1
        step = .list
        let wait = configuration.backoff.delay(
            beforeRetry: failures,
            retryAfterSeconds: error.retryAfterSeconds,
            random: random
        )
        delay = wait
        return .failed(reason: error.description, failures: failures, retryIn: wait)
    }

    /// A watch delivered an event or a bookmark at this resourceVersion.
    public mutating func progressed(to resourceVersion: String?) {
        failures = 0
        if let resourceVersion, !resourceVersion.isEmpty {
            self.resourceVersion = resourceVersion
            step = .watch(from: resourceVersion)
        }
    }

    /// The server ended the watch normally (its timeout): resume at once from the last version seen.
    public mutating func watchEnded() {
        if let resourceVersion { step = .watch(from: resourceVersion) } else { step = .list }
    }

    /// The watch failed.
    public mutating func watchFailed(_ error: KubernetesError, random: Double) -> Note {
        if error.code == .gone {
            // Not a failure of the server: the version is too old. The list that follows replaces the store.
            step = .list
            behind = true
            return .relisting
        }
        if error.code == .forbidden {
            let reason = error.description
            mode = .polling(reason: reason)
            step = .list
            delay = configuration.pollInterval
            return .polling(reason: reason)
        }
        failures += 1
        if let resourceVersion { step = .watch(from: resourceVersion) } else { step = .list }
        let wait = configuration.backoff.delay(
            beforeRetry: failures,
            retryAfterSeconds: error.retryAfterSeconds,
            random: random
        )
        delay = wait
        return .failed(reason: error.description, failures: failures, retryIn: wait)
    }
}
