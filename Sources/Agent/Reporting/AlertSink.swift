import Act
import AutorebalancerCore
import Foundation
import Report
import Synchronization

/// Turns cycle reports into the set of alerts that are active now and hands it to the notifiers every cycle (the
/// Alertmanager keeper re-sends and resolves from that set). Webhooks also receive every decision.
///
/// Active alerts: `alert` rules pending or firing; a rule held back by a gate longer than `blockedAfter` (at once when
/// it is suspended after ineffective rebalances); a rule whose creates keep failing (from the configured number of
/// failures in a row, while it fires); every source of a cluster down; a Rebalance stuck; a Rebalance that failed or
/// was ineffective (active for `outcomeAlertDuration` after it was judged). Webhooks receive every decision that was
/// carried out (a confirmed rebalance) and every alert decision; a rebalance not made (dry run, not the leader, a
/// failed create) is no decision.
public final class AlertSink: TickReportSink {
    public struct Configuration: Sendable {
        public var blockedAfter: TimeInterval
        public var outcomeAlertDuration: TimeInterval
        public var stuckAfter: Duration
        public var generatorURL: String?

        public init(
            blockedAfter: TimeInterval = 3600,
            outcomeAlertDuration: TimeInterval = 3600,
            stuckAfter: Duration = .seconds(1800),
            generatorURL: String? = nil
        ) {
            self.blockedAfter = blockedAfter
            self.outcomeAlertDuration = outcomeAlertDuration
            self.stuckAfter = stuckAfter
            self.generatorURL = generatorURL
        }
    }

    struct Memory {
        var blockedSince: [String: Date] = [:]
        var sourceDownSince: [String: Date] = [:]
        /// One-off outcome alerts with the instant they stop being active.
        var outcomes: [String: (alert: AgentAlert, until: Date)] = [:]
    }

    let configuration: Configuration
    let alertmanager: AlertmanagerNotifier?
    let webhooks: [WebhookNotifier]
    let memory = Mutex(Memory())

    public init(configuration: Configuration, alertmanager: AlertmanagerNotifier?, webhooks: [WebhookNotifier]) {
        self.configuration = configuration
        self.alertmanager = alertmanager
        self.webhooks = webhooks
    }

    public func publish(_ report: TickReport) async {
        let alerts = activeAlerts(report)
        alertmanager?.submit(alerts, at: report.at)
        for webhook in webhooks {
            for cluster in report.clusters {
                for decision in cluster.decisions { _ = webhook.submit(.decision(decision)) }
            }
        }
    }

    /// The alerts active after this cycle (pure apart from the sink's own memory of since-times).
    func activeAlerts(_ report: TickReport) -> [AgentAlert] {
        let url = configuration.generatorURL
        return memory.withLock { memory in
            var active: [AgentAlert] = []
            var seenBlocked: Set<String> = []
            var seenDown: Set<String> = []
            for cluster in report.clusters {
                let name = cluster.cluster.description
                // Sources: down when every source failed this cycle.
                if !cluster.sources.isEmpty, !cluster.observed {
                    let key = name
                    seenDown.insert(key)
                    let since = memory.sourceDownSince[key] ?? report.at
                    memory.sourceDownSince[key] = since
                    let errors = cluster.sources.compactMap { attempt in
                        attempt.error.map { "\(attempt.source): \($0)" }
                    }
                    active.append(
                        .sourceDown(
                            cluster: name,
                            source: cluster.sources.map(\.source).joined(separator: ","),
                            error: errors.joined(separator: "; "),
                            since: since,
                            generatorURL: url
                        )
                    )
                }
                for outcome in cluster.policies {
                    for evaluation in outcome.result.evaluations {
                        let key = "\(name)|\(outcome.policy)|\(evaluation.rule)"
                        let since = outcome.result.state.rules[evaluation.rule]?.conditionSince ?? report.at
                        if evaluation.action == .alert, [.pending, .firing].contains(evaluation.state) {
                            active.append(
                                .imbalance(
                                    evaluation.record,
                                    firing: evaluation.state != .pending,
                                    since: since,
                                    generatorURL: url
                                )
                            )
                        }
                        if let retry = evaluation.retry, retry.escalated {
                            active.append(
                                .createFailing(
                                    evaluation.record,
                                    failures: retry.failures,
                                    failure: retry.lastFailure,
                                    since: since,
                                    generatorURL: url
                                )
                            )
                            continue
                        }
                        guard let why = evaluation.whyNot, evaluation.decision == nil,
                            !why.reason.isQuiet, why.reason != .pending
                        else { continue }
                        seenBlocked.insert(key)
                        let blockedSince = memory.blockedSince[key] ?? report.at
                        memory.blockedSince[key] = blockedSince
                        if why.reason == .ineffectiveLimit
                            || report.at.timeIntervalSince(blockedSince) >= configuration.blockedAfter
                        {
                            active.append(.blockedTooLong(evaluation.record, since: blockedSince, generatorURL: url))
                        }
                    }
                }
                for follow in cluster.follow {
                    if let (rebalance, since) = follow.stuck {
                        active.append(
                            .rebalanceStuck(
                                cluster: name,
                                rebalance: rebalance,
                                startedAt: since,
                                now: report.at,
                                limit: configuration.stuckAfter,
                                generatorURL: url
                            )
                        )
                    }
                    guard let (rebalance, outcome, detail) = follow.recordedOutcome else { continue }
                    let rule = cluster.history?.rebalances.first { $0.name == rebalance }?.rule
                    let until = report.at.addingTimeInterval(configuration.outcomeAlertDuration)
                    switch outcome {
                    case .failed:
                        memory.outcomes["\(name)|\(rebalance)"] = (
                            .rebalanceFailed(
                                cluster: name,
                                rebalance: rebalance,
                                rule: rule,
                                reason: detail,
                                at: report.at,
                                generatorURL: url
                            ), until
                        )
                    case .ineffective:
                        memory.outcomes["\(name)|\(rebalance)"] = (
                            .rebalanceIneffective(
                                cluster: name,
                                rebalance: rebalance,
                                rule: rule,
                                formula: detail,
                                at: report.at,
                                generatorURL: url
                            ), until
                        )
                    default:
                        break
                    }
                }
            }
            memory.blockedSince = memory.blockedSince.filter { seenBlocked.contains($0.key) }
            memory.sourceDownSince = memory.sourceDownSince.filter { seenDown.contains($0.key) }
            memory.outcomes = memory.outcomes.filter { $0.value.until > report.at }
            active += memory.outcomes.values.map(\.alert)
            return active
        }
    }
}
