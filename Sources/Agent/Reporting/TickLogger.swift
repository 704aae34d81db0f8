import Act
import AutorebalancerCore
import Foundation
import Logging
import Synchronization

/// Logs what each cycle did: one line per decision with its reason, one per write, every failure. Held-back rules are
/// logged when their reason changes (not every cycle), so a rule blocked for an hour writes one line, not 240.
public final class TickLogger: TickReportSink {
    private let logger: Logger
    private let lastWhyNot = Mutex<[String: String]>([:])

    public init(logger: Logger) {
        self.logger = logger
    }

    public func publish(_ report: TickReport) async {
        for error in report.errors { logger.warning("\(error)") }
        for cluster in report.clusters { log(cluster) }
    }

    func log(_ report: ClusterCycleReport) {
        var logger = self.logger
        logger[metadataKey: "cluster"] = "\(report.cluster)"
        for error in report.errors { logger.warning("\(error)") }
        for attempt in report.sources {
            if let error = attempt.error {
                logger.warning("metric source failed", metadata: ["source": "\(attempt.source)", "error": "\(error)"])
            }
            for warning in attempt.warnings {
                logger.notice("metric source warning", metadata: ["source": "\(attempt.source)", "warning": "\(warning)"])
            }
        }
        for outcome in report.policies {
            for evaluation in outcome.result.evaluations {
                let key = "\(report.cluster)|\(outcome.policy)|\(evaluation.rule)"
                if let decision = evaluation.decision {
                    logger.info("decision", metadata: Self.metadata(decision, policy: outcome.policy))
                    lastWhyNot.withLock { $0[key] = nil }
                    continue
                }
                let why = evaluation.whyNot.map(\.description) ?? evaluation.phase.rawValue
                let changed = lastWhyNot.withLock { seen -> Bool in
                    defer { seen[key] = why }
                    return seen[key] != why
                }
                var metadata = Self.metadata(evaluation.record, policy: outcome.policy)
                metadata["phase"] = "\(evaluation.phase.rawValue)"
                if let remaining = evaluation.forRemaining { metadata["for_remaining"] = "\(DurationText.format(remaining))" }
                if changed {
                    logger.info("rule held back", metadata: metadata)
                } else {
                    logger.debug("rule held back", metadata: metadata)
                }
            }
        }
        switch report.create {
        case .created(let rebalance)?:
            logger.notice("Rebalance created", metadata: ["rebalance": "\(rebalance.metadata.name ?? "")"])
        case .alreadyExists(let rebalance)?:
            logger.info("Rebalance already exists (created earlier)", metadata: ["rebalance": "\(rebalance.metadata.name ?? "")"])
        case .blocked(let blocker)?:
            logger.info("Rebalance not created", metadata: ["blocked_by": "\(blocker)"])
        case .notLeader?:
            logger.info("Rebalance not created: this replica is not the leader")
        case .wouldCreate(let rebalance)?:
            logger.notice("dry run: would create Rebalance", metadata: [
                "rebalance": "\(rebalance.metadata.name ?? "")",
                "spec": "\(String(decoding: (try? JSONEncoder().encode(rebalance.spec)) ?? Data(), as: UTF8.self))",
            ])
        case nil:
            break
        }
        for follow in report.follow {
            switch follow.action {
            case .awaitOperator, .processing, .settling, .awaitMetrics, .awaitReady, .retryLater:
                logger.debug("following Rebalance", metadata: ["action": "\(follow.action)"])
            default:
                if let error = follow.error {
                    logger.warning("Rebalance follow-up failed", metadata: ["action": "\(follow.action)", "error": "\(error)"])
                } else {
                    logger.info("Rebalance follow-up", metadata: ["action": "\(follow.action)", "performed": "\(follow.performed)"])
                }
            }
        }
    }

    static func metadata(_ record: DecisionRecord, policy: String) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "policy": "\(policy)", "rule": "\(record.rule)", "trigger": "\(record.trigger.rawValue)",
            "action": "\(record.action.rawValue)", "formula": "\(record.formula)",
        ]
        if let reason = record.reason { metadata["reason"] = "\(reason.rawValue)" }
        if let detail = record.detail { metadata["detail"] = "\(detail)" }
        if !record.donors.isEmpty { metadata["donors"] = "\(record.donors.map(ConnectionsPlot.shortName).joined(separator: ","))" }
        if !record.recipients.isEmpty { metadata["recipients"] = "\(record.recipients.map(ConnectionsPlot.shortName).joined(separator: ","))" }
        return metadata
    }
}
