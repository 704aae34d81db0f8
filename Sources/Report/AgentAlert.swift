import AutorebalancerCore
import Foundation

/// One alert the agent raises. Its identity is its label set (as in Alertmanager): the same labels are the same
/// alert, re-sent while active and resolved when no longer reported.
public struct AgentAlert: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case imbalancePending = "EMQXClusterImbalancePending"
        case imbalanceFiring = "EMQXClusterImbalanced"
        case rebalanceFailed = "EMQXRebalanceFailed"
        case rebalanceIneffective = "EMQXRebalanceIneffective"
        case rebalanceStuck = "EMQXRebalanceStuck"
        case blockedTooLong = "EMQXRebalanceBlocked"
        case createFailing = "EMQXRebalanceCreateFailing"
        case sourceDown = "EMQXAutorebalancerSourceDown"

        /// The `alertname` label.
        public var alertname: String { rawValue }

        var defaultSeverity: String {
            switch self {
            case .imbalancePending: "info"
            case .rebalanceFailed, .rebalanceStuck, .sourceDown: "critical"
            default: "warning"
            }
        }
    }

    public var kind: Kind
    /// Identity: `alertname`, `cluster`, `namespace`, and per kind `rule`, `source`, `rebalance`; plus the rule's own.
    public var labels: [String: String]
    /// `summary`, `description`, and the numbers (`formula`, `donors`, `recipients`, `reason`, ...).
    public var annotations: [String: String]
    /// When the condition began.
    public var startsAt: Date
    /// Where a user can see more (the agent's decision log, a dashboard).
    public var generatorURL: String?

    public init(
        kind: Kind,
        labels: [String: String],
        annotations: [String: String],
        startsAt: Date,
        generatorURL: String? = nil
    ) {
        self.kind = kind
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.generatorURL = generatorURL
    }

    /// Labels every alert of a cluster carries; the rule's own labels come first so these win.
    static func baseLabels(kind: Kind, cluster: String, extra: [String: String]? = nil) -> [String: String] {
        var labels = extra ?? [:]
        let parts = cluster.split(separator: "/", maxSplits: 1).map(String.init)
        labels["namespace"] = parts.count == 2 ? parts[0] : ""
        labels["cluster"] = parts.count == 2 ? parts[1] : cluster
        labels["alertname"] = kind.alertname
        if labels["severity"] == nil { labels["severity"] = kind.defaultSeverity }
        return labels.filter { !$0.value.isEmpty }
    }

    /// The imbalance alert of an `alert` rule: pending while its `for` runs, firing afterwards.
    public static func imbalance(
        _ record: DecisionRecord,
        firing: Bool,
        since: Date,
        generatorURL: String? = nil
    ) -> AgentAlert {
        let kind: Kind = firing ? .imbalanceFiring : .imbalancePending
        var labels = baseLabels(kind: kind, cluster: record.cluster, extra: record.labels)
        labels["rule"] = record.rule
        var annotations = numbers(of: record)
        annotations["summary"] =
            "EMQX cluster \(record.cluster) is imbalanced (rule \(record.rule), trigger \(record.trigger.rawValue))"
            + (firing ? "" : ", pending")
        annotations["description"] = record.formula
        for (key, value) in record.annotations ?? [:] { annotations[key] = value }
        return AgentAlert(
            kind: kind,
            labels: labels,
            annotations: annotations,
            startsAt: since,
            generatorURL: generatorURL
        )
    }

    /// A rule held back by a gate for longer than allowed.
    public static func blockedTooLong(_ record: DecisionRecord, since: Date, generatorURL: String? = nil) -> AgentAlert
    {
        var labels = baseLabels(kind: .blockedTooLong, cluster: record.cluster, extra: record.labels)
        labels["rule"] = record.rule
        var annotations = numbers(of: record)
        let reason = record.reason?.rawValue ?? "unknown"
        annotations["reason"] = reason
        annotations["summary"] =
            "rule \(record.rule) on \(record.cluster) wants to act but has been blocked (\(reason)) since \(KubernetesTime.format(since))"
        annotations["description"] = [record.detail, record.formula].compactMap { $0 }.filter { !$0.isEmpty }.joined(
            separator: "; "
        )
        return AgentAlert(
            kind: .blockedTooLong,
            labels: labels,
            annotations: annotations,
            startsAt: since,
            generatorURL: generatorURL
        )
    }

    /// A decided Rebalance whose create failed `failures` times in a row (the configured escalation count or more).
    public static func createFailing(
        _ record: DecisionRecord,
        failures: Int,
        failure: ActionFailure,
        since: Date,
        generatorURL: String? = nil
    ) -> AgentAlert {
        var labels = baseLabels(kind: .createFailing, cluster: record.cluster, extra: record.labels)
        labels["rule"] = record.rule
        var annotations = numbers(of: record)
        annotations["reason"] = failure.kind.rawValue
        annotations["summary"] =
            "rule \(record.rule) on \(record.cluster) cannot create its Rebalance: \(failures) failed attempts in a row (\(failure.kind.rawValue))"
        annotations["description"] = failure.message
        return AgentAlert(
            kind: .createFailing,
            labels: labels,
            annotations: annotations,
            startsAt: since,
            generatorURL: generatorURL
        )
    }

    /// A Rebalance that ended `Failed`.
    public static func rebalanceFailed(
        cluster: String,
        rebalance: String,
        rule: String?,
        reason: String,
        at time: Date,
        generatorURL: String? = nil
    ) -> AgentAlert {
        var labels = baseLabels(kind: .rebalanceFailed, cluster: cluster)
        labels["rebalance"] = rebalance
        if let rule { labels["rule"] = rule }
        return AgentAlert(
            kind: .rebalanceFailed,
            labels: labels,
            annotations: [
                "summary": "Rebalance \(rebalance) on \(cluster) failed",
                "description": reason, "reason": reason,
            ],
            startsAt: time,
            generatorURL: generatorURL
        )
    }

    /// A Rebalance that completed while the cluster stayed imbalanced; `formula` is EMQX's test after it.
    public static func rebalanceIneffective(
        cluster: String,
        rebalance: String,
        rule: String?,
        formula: String,
        at time: Date,
        generatorURL: String? = nil
    ) -> AgentAlert {
        var labels = baseLabels(kind: .rebalanceIneffective, cluster: cluster)
        labels["rebalance"] = rebalance
        if let rule { labels["rule"] = rule }
        return AgentAlert(
            kind: .rebalanceIneffective,
            labels: labels,
            annotations: [
                "summary": "Rebalance \(rebalance) on \(cluster) completed but the cluster is still imbalanced",
                "description": formula, "formula": formula,
            ],
            startsAt: time,
            generatorURL: generatorURL
        )
    }

    /// A Rebalance `Processing` for longer than expected.
    public static func rebalanceStuck(
        cluster: String,
        rebalance: String,
        startedAt: Date,
        now: Date,
        limit: Duration,
        generatorURL: String? = nil
    ) -> AgentAlert {
        var labels = baseLabels(kind: .rebalanceStuck, cluster: cluster)
        labels["rebalance"] = rebalance
        let age = Int(now.timeIntervalSince(startedAt))
        return AgentAlert(
            kind: .rebalanceStuck,
            labels: labels,
            annotations: [
                "summary": "Rebalance \(rebalance) on \(cluster) has been processing for \(age)s",
                "description":
                    "started \(KubernetesTime.format(startedAt)), limit \(limit.components.seconds)s; check the EMQX operator and the node-rebalance status",
            ],
            startsAt: startedAt,
            generatorURL: generatorURL
        )
    }

    /// A metric source that cannot observe a cluster.
    public static func sourceDown(
        cluster: String,
        source: String,
        error: String,
        since: Date,
        generatorURL: String? = nil
    ) -> AgentAlert {
        var labels = baseLabels(kind: .sourceDown, cluster: cluster)
        labels["source"] = source
        return AgentAlert(
            kind: .sourceDown,
            labels: labels,
            annotations: [
                "summary": "metric source \(source) cannot observe \(cluster)",
                "description": error,
            ],
            startsAt: since,
            generatorURL: generatorURL
        )
    }

    static func numbers(of record: DecisionRecord) -> [String: String] {
        var annotations: [String: String] = [:]
        if !record.formula.isEmpty { annotations["formula"] = record.formula }
        if !record.donors.isEmpty { annotations["donors"] = record.donors.joined(separator: ",") }
        if !record.recipients.isEmpty { annotations["recipients"] = record.recipients.joined(separator: ",") }
        if !record.connections.isEmpty {
            annotations["connections"] = record.connections.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: ",")
        }
        if let detail = record.detail, !detail.isEmpty { annotations["why_not"] = detail }
        if let policy = record.policy { annotations["policy"] = policy }
        return annotations
    }
}

/// The JSON Alertmanager's `POST /api/v2/alerts` takes (one element of the array).
public struct PostableAlert: Sendable, Hashable, Codable {
    public var labels: [String: String]
    public var annotations: [String: String]
    public var startsAt: Date
    public var endsAt: Date
    public var generatorURL: String?

    public init(
        labels: [String: String],
        annotations: [String: String],
        startsAt: Date,
        endsAt: Date,
        generatorURL: String?
    ) {
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.generatorURL = generatorURL
    }

    enum CodingKeys: String, CodingKey { case labels, annotations, startsAt, endsAt, generatorURL }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        labels = try c.decode([String: String].self, forKey: .labels)
        annotations = try c.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
        guard let starts = KubernetesTime.parse(try c.decode(String.self, forKey: .startsAt)),
            let ends = KubernetesTime.parse(try c.decode(String.self, forKey: .endsAt))
        else {
            throw DecodingError.dataCorruptedError(
                forKey: .startsAt,
                in: c,
                debugDescription: "startsAt/endsAt are not RFC 3339"
            )
        }
        startsAt = starts
        endsAt = ends
        generatorURL = try c.decodeIfPresent(String.self, forKey: .generatorURL)
    }

    /// Times as RFC 3339 in UTC, whole seconds, as Alertmanager's examples show.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(labels, forKey: .labels)
        try c.encode(annotations, forKey: .annotations)
        try c.encode(KubernetesTime.format(startsAt), forKey: .startsAt)
        try c.encode(KubernetesTime.format(endsAt), forKey: .endsAt)
        try c.encodeIfPresent(generatorURL, forKey: .generatorURL)
    }
}
