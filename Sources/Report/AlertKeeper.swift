import AutorebalancerCore
import Foundation

/// Decides what to send to Alertmanager, as a value: give it the complete set of active alerts at each evaluation
/// and it returns the postable alerts due now.
///
/// - A new alert is sent at once; an active one again every ``Configuration/resendInterval`` (or when its
///   annotations change), each time with `endsAt = now + 4 × max(evaluation interval, resend interval)` so
///   Alertmanager keeps it while the agent lives and resolves it by itself if the agent dies.
/// - An alert no longer in the set is resolved: sent with `endsAt = now` (past by the time it arrives), then re-sent
///   ``Configuration/resolvedResends`` − 1 more times at the resend interval (a lost POST must not leave it
///   firing), then forgotten.
public struct AlertKeeper: Sendable {
    public struct Configuration: Sendable, Hashable {
        public var resendInterval: Duration
        public var evaluationInterval: Duration
        public var resolvedResends: Int

        public init(
            resendInterval: Duration = .seconds(60),
            evaluationInterval: Duration = .seconds(15),
            resolvedResends: Int = 3
        ) {
            self.resendInterval = resendInterval
            self.evaluationInterval = evaluationInterval
            self.resolvedResends = max(1, resolvedResends)
        }

        /// How far ahead `endsAt` of an active alert lies.
        public var activeHorizon: TimeInterval {
            4 * max(resendInterval, evaluationInterval).seconds
        }
    }

    /// What the keeper remembers of one alert.
    public struct Tracked: Sendable, Hashable {
        public var alert: AgentAlert
        public var lastSent: Date
        /// Set once resolved: when, and how many resolved sends remain.
        public var resolvedAt: Date?
        public var resolvedSendsLeft: Int
    }

    public let configuration: Configuration
    public private(set) var tracked: [[String: String]: Tracked] = [:]

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Updates the state with the alerts active `now` and returns what to POST.
    public mutating func update(active: [AgentAlert], now: Date) -> [PostableAlert] {
        let resend = configuration.resendInterval.seconds
        var due: [PostableAlert] = []
        var seen: Set<[String: String]> = []
        for alert in active {
            seen.insert(alert.labels)
            if var entry = tracked[alert.labels], entry.resolvedAt == nil {
                let changed =
                    entry.alert.annotations != alert.annotations || entry.alert.generatorURL != alert.generatorURL
                // Keep the original start: a re-sent alert is the same alert.
                let startsAt = entry.alert.startsAt
                entry.alert = alert
                entry.alert.startsAt = startsAt
                if changed || now.timeIntervalSince(entry.lastSent) >= resend {
                    entry.lastSent = now
                    due.append(postable(entry.alert, endsAt: now.addingTimeInterval(configuration.activeHorizon)))
                }
                tracked[alert.labels] = entry
            } else {
                // New, or back after being resolved: a new occurrence.
                tracked[alert.labels] = Tracked(alert: alert, lastSent: now, resolvedAt: nil, resolvedSendsLeft: 0)
                due.append(postable(alert, endsAt: now.addingTimeInterval(configuration.activeHorizon)))
            }
        }
        for (labels, var entry) in tracked where !seen.contains(labels) {
            if entry.resolvedAt == nil {
                entry.resolvedAt = now
                entry.resolvedSendsLeft = configuration.resolvedResends - 1
                entry.lastSent = now
                due.append(postable(entry.alert, endsAt: now))
                tracked[labels] = entry
            } else if now.timeIntervalSince(entry.lastSent) >= resend {
                if entry.resolvedSendsLeft > 0 {
                    entry.resolvedSendsLeft -= 1
                    entry.lastSent = now
                    due.append(postable(entry.alert, endsAt: entry.resolvedAt!))
                    tracked[labels] = entry
                } else {
                    tracked[labels] = nil
                }
            }
        }
        return due.sorted { Self.sortKey($0.labels) < Self.sortKey($1.labels) }
    }

    /// A stable order for the output: alertname first, then the other labels.
    static func sortKey(_ labels: [String: String]) -> String {
        (labels["alertname"] ?? "") + "\u{0}"
            + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    private func postable(_ alert: AgentAlert, endsAt: Date) -> PostableAlert {
        PostableAlert(
            labels: alert.labels,
            annotations: alert.annotations,
            startsAt: alert.startsAt,
            endsAt: endsAt,
            generatorURL: alert.generatorURL
        )
    }
}
