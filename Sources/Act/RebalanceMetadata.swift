import AutorebalancerCore
import Foundation

/// The labels and annotations the agent puts on the Rebalances it creates: the durable memory a restarted or newly
/// elected agent rebuilds its history from.
public enum RebalanceMetadata {
    public static let managedByKey = "app.kubernetes.io/managed-by"
    public static let managedByValue = "emqx-autorebalancer"
    /// Label: the EMQX object's name.
    public static let clusterKey = "autorebalancer.emqx.io/cluster"
    /// Label: the rule that fired.
    public static let ruleKey = "autorebalancer.emqx.io/rule"
    /// Label: `scaleOut`, `restart` or `skew`.
    public static let triggerKey = "autorebalancer.emqx.io/trigger"
    /// Annotation: the decision record JSON (rule, numbers, formula text, policy version).
    public static let decisionKey = "autorebalancer.emqx.io/decision"
    /// Annotation: the judged outcome (`balanced`, `improved`, `ineffective`, `nothing-to-balance`, `failed`).
    public static let outcomeKey = "autorebalancer.emqx.io/outcome"
    /// Annotation: the numbers behind the outcome.
    public static let outcomeDetailKey = "autorebalancer.emqx.io/outcome-detail"
    /// Annotation: when the outcome was judged (RFC 3339).
    public static let judgedAtKey = "autorebalancer.emqx.io/judged-at"
    /// Annotation: 1 for the first attempt of a decision, 2 for its first retry, ...
    public static let attemptKey = "autorebalancer.emqx.io/attempt"
    /// Annotation: the name of the first attempt of this decision.
    public static let originKey = "autorebalancer.emqx.io/origin"
    /// Annotation: when the agent first saw EMQX stopped rebalancing (RFC 3339), where the Rebalance itself does not
    /// say (a `Failed … not ready` confirmed by `global_status` or by Ready, a `Completed` without a time): the
    /// settle time counts from it.
    public static let stoppedAtKey = "autorebalancer.emqx.io/emqx-stopped-at"

    /// `app.kubernetes.io/managed-by=emqx-autorebalancer,autorebalancer.emqx.io/cluster=<name>`.
    public static func selector(for cluster: ClusterReference) -> String {
        "\(managedByKey)=\(managedByValue),\(clusterKey)=\(labelValue(cluster.name))"
    }

    /// The labels of everything the agent creates for a decision (Rebalances and EMQXRebalance records alike).
    public static func labels(cluster: String, rule: String, trigger: Trigger) -> [String: String] {
        [
            managedByKey: managedByValue, clusterKey: labelValue(cluster), ruleKey: labelValue(rule),
            triggerKey: trigger.rawValue,
        ]
    }

    /// A valid label value (≤ 63 characters of `[A-Za-z0-9-_.]`, alphanumeric at both ends).
    public static func labelValue(_ text: String) -> String {
        var value = String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) ? $0 : "-" })
        if value.count > 63 {
            value = String(value.prefix(54)) + "-" + StableHash.shortHex(text)
        }
        while let first = value.first, !(first.isLetter || first.isNumber) { value.removeFirst() }
        while let last = value.last, !(last.isLetter || last.isNumber) { value.removeLast() }
        return value
    }

    /// Whether the agent created this Rebalance for that cluster.
    public static func isOurs(_ rebalance: Rebalance, cluster: ClusterReference) -> Bool {
        let labels = rebalance.metadata.labels ?? [:]
        return labels[managedByKey] == managedByValue && labels[clusterKey] == labelValue(cluster.name)
            && (rebalance.metadata.namespace ?? cluster.namespace) == cluster.namespace
    }

    /// Whether the Rebalance targets that cluster (ours or anyone's).
    public static func targets(_ rebalance: Rebalance, cluster: ClusterReference) -> Bool {
        let kind = rebalance.spec.instanceKind.isEmpty ? InstanceKind.emqx.rawValue : rebalance.spec.instanceKind
        let sameKind = (kind == InstanceKind.emqxEnterprise.rawValue) == (cluster.kind == .emqxEnterprise)
        return rebalance.spec.instanceName == cluster.name && sameKind
            && (rebalance.metadata.namespace ?? cluster.namespace) == cluster.namespace
    }

    /// The decision record stored on one of ours, if readable.
    public static func decision(of rebalance: Rebalance) -> DecisionRecord? { decision(in: rebalance.metadata) }

    /// The decision record stored on one of our `EMQXRebalance` records, if readable.
    public static func decision(of record: EMQXRebalance) -> DecisionRecord? { decision(in: record.metadata) }

    public static func outcome(of rebalance: Rebalance) -> RebalanceOutcome? { outcome(in: rebalance.metadata) }

    public static func outcome(of record: EMQXRebalance) -> RebalanceOutcome? { outcome(in: record.metadata) }

    static func decision(in metadata: ObjectMeta) -> DecisionRecord? {
        guard let text = metadata.annotations?[decisionKey] else { return nil }
        return try? JSONDecoder().decode(DecisionRecord.self, from: Data(text.utf8))
    }

    static func outcome(in metadata: ObjectMeta) -> RebalanceOutcome? {
        metadata.annotations?[outcomeKey].flatMap(RebalanceOutcome.init(rawValue:))
    }

    /// When EMQX was first seen stopped (`stoppedAtKey`), if recorded.
    public static func stoppedAt(_ rebalance: Rebalance) -> Date? {
        KubernetesTime.parse(rebalance.metadata.annotations?[stoppedAtKey])
    }

    public static func attempt(of rebalance: Rebalance) -> Int {
        rebalance.metadata.annotations?[attemptKey].flatMap(Int.init) ?? 1
    }
}
