import Act
import AutorebalancerCore
import Foundation
import Logging
import Synchronization

/// Logs what each cycle did: one line per decision with its reason, one per write, every failure. Held-back rules are
/// logged when their state or reason changes (not every cycle), so a rule blocked for an hour writes one line, not
/// 240; dry-run and not-the-leader actions likewise.
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
                logger.notice(
                    "metric source warning",
                    metadata: ["source": "\(attempt.source)", "warning": "\(warning)"]
                )
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
                // The state and the reason code, not the detail: "40s of 2m" changes every cycle, the news does not.
                let why = "\(evaluation.state.rawValue) \(evaluation.whyNot?.reason.rawValue ?? "")"
                let changed = lastWhyNot.withLock { seen -> Bool in
                    defer { seen[key] = why }
                    return seen[key] != why
                }
                // Built only for a line that is written: with many clusters this runs thousands of times a cycle.
                let level: Logger.Level = changed ? .info : .debug
                guard logger.logLevel <= level else { continue }
                var metadata = Self.metadata(evaluation.record, policy: outcome.policy)
                metadata["state"] = "\(evaluation.state.rawValue)"
                if let remaining = evaluation.forRemaining {
                    metadata["for_remaining"] = "\(DurationText.format(remaining))"
                }
                logger.log(level: level, "rule held back", metadata: metadata)
            }
        }
        if let action = report.action { log(action, cluster: report.cluster, logger: logger) }
        for follow in report.follow {
            let metadata: Logger.Metadata = ["object": "\(follow.object)", "action": "\(follow)"]
            if follow.isRoutine {
                logger.debug("following rebalance", metadata: metadata)
            } else if let error = follow.error {
                logger.warning("rebalance follow-up failed", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            } else {
                logger.info(
                    "rebalance follow-up",
                    metadata: metadata.merging(["performed": "\(follow.performed)"]) { $1 }
                )
            }
        }
    }

    /// A write is logged every time; an action not made (dry run, not the leader) when it starts being so.
    func log(_ action: ActionReport, cluster: ClusterReference, logger: Logger) {
        var metadata: Logger.Metadata = ["rule": "\(action.rule)"]
        if let object = action.object { metadata["rebalance"] = "\(object.name)" }
        let key = "\(cluster)|action"
        let kind: String
        switch action.result {
        case .confirmed: kind = "confirmed"
        case .failed: kind = "failed"
        case .notMade(let reason): kind = "not-made \(action.rule) \(reason.whyNot.reason.rawValue)"
        }
        let changed = lastWhyNot.withLock { seen -> Bool in
            defer { seen[key] = kind }
            return seen[key] != kind
        }
        switch action.result {
        case .confirmed:
            logger.notice(
                action.alreadyExisted
                    ? "Rebalance already exists (created earlier): counted as done" : "Rebalance created",
                metadata: metadata
            )
        case .failed(let failure):
            metadata["reason"] = "\(failure.kind.rawValue)"
            metadata["error"] = "\(failure.message)"
            logger.warning("Rebalance not created: the create failed", metadata: metadata)
        case .notMade(.dryRun):
            metadata["spec"] = "\(action.object?.spec ?? "")"
            if changed {
                logger.notice("dry run: would create Rebalance", metadata: metadata)
            } else {
                logger.debug("dry run: would create Rebalance", metadata: metadata)
            }
        case .notMade(let reason):
            metadata["reason"] = "\(reason.whyNot)"
            if changed {
                logger.info("Rebalance not created", metadata: metadata)
            } else {
                logger.debug("Rebalance not created", metadata: metadata)
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
        if !record.donors.isEmpty {
            metadata["donors"] = "\(record.donors.map(ConnectionsPlot.shortName).joined(separator: ","))"
        }
        if !record.recipients.isEmpty {
            metadata["recipients"] = "\(record.recipients.map(ConnectionsPlot.shortName).joined(separator: ","))"
        }
        return metadata
    }
}
