import Foundation
import Synchronization

/// What `/healthz` and `/readyz` report: the evaluation loop's heartbeat, whether a configuration is loaded, and
/// which sources have answered at least once. Updated by the agent loop, read by the admin server.
public final class AgentHealth: Sendable {
    /// The answer of one probe: healthy/ready, or the reasons why not.
    public struct Verdict: Sendable, Hashable {
        public var ok: Bool
        public var reasons: [String]
    }

    private struct State {
        var lastHeartbeat: Date
        var configLoaded = false
        var expectedSources: Set<String> = []
        var reachedSources: Set<String> = []
    }

    /// A heartbeat older than this makes `/healthz` fail.
    public let maximumHeartbeatAge: Duration
    private let now: @Sendable () -> Date
    private let state: Mutex<State>

    /// `now` is injected so tests can move time; start-up counts as the first heartbeat.
    public init(maximumHeartbeatAge: Duration, now: @escaping @Sendable () -> Date = { Date() }) {
        self.maximumHeartbeatAge = maximumHeartbeatAge
        self.now = now
        self.state = Mutex(State(lastHeartbeat: now()))
    }

    /// The loop calls this every cycle (and while idle between cycles).
    public func heartbeat() {
        let time = now()
        state.withLock { $0.lastHeartbeat = time }
    }

    public func setConfigLoaded(_ loaded: Bool) {
        state.withLock { $0.configLoaded = loaded }
    }

    /// The sources (e.g. `default/emqx-ee via prometheus`) that must answer once before the agent is ready.
    public func expectSources(_ names: Set<String>) {
        state.withLock { $0.expectedSources = names }
    }

    public func markSourceReached(_ name: String) {
        state.withLock { _ = $0.reachedSources.insert(name) }
    }

    /// Alive when the last heartbeat is within ``maximumHeartbeatAge``.
    public func liveness() -> Verdict {
        let time = now()
        let last = state.withLock { $0.lastHeartbeat }
        let age = time.timeIntervalSince(last)
        let limit = AgentMetrics.seconds(maximumHeartbeatAge)
        if age > limit {
            return Verdict(ok: false, reasons: [
                "evaluation loop stuck: last heartbeat \(Int(age))s ago, limit \(Self.format(limit))s",
            ])
        }
        return Verdict(ok: true, reasons: [])
    }

    /// Ready when a configuration is loaded and every expected source answered at least once.
    public func readiness() -> Verdict {
        let snapshot = state.withLock { $0 }
        var reasons: [String] = []
        if !snapshot.configLoaded { reasons.append("configuration not loaded yet") }
        let missing = snapshot.expectedSources.subtracting(snapshot.reachedSources).sorted()
        if !missing.isEmpty { reasons.append("sources never reached: \(missing.joined(separator: ", "))") }
        return Verdict(ok: reasons.isEmpty, reasons: reasons)
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
