import AutorebalancerCore
import Foundation

/// A policy file (`kind: RebalancePolicy`): a loaded policy has no error, and every number in it is within the
/// documented limits (docs/policy.md).
enum PolicyInput {
    @Sendable static func check(_ bytes: [UInt8]) -> [String] {
        var promises = Promises()
        guard let text = HostileInput.text(bytes) else { return promises.broken }
        let result = PolicyLoader.load(text: text, file: "policy.yaml")
        guard let policy = promises.loaded(result.policy, result.diagnostics, "a policy") else {
            return promises.broken
        }
        promises.expect(policy.evaluationInterval > 0, "evaluationInterval \(policy.evaluationInterval)s accepted")
        promises.duration(policy.evaluationInterval, at: 86_400, "evaluationInterval")
        promises.duration(policy.staleness, at: 86_400, "staleness")
        promises.expect(
            policy.limits.maxRebalancesPerDay >= 0 && policy.limits.maxConsecutiveIneffective >= 0,
            "a negative limit accepted"
        )
        for window in policy.maintenanceWindows {
            promises.expect(
                (0...1440).contains(window.startMinute) && (0...1440).contains(window.endMinute),
                "a maintenance window \(window.startMinute)-\(window.endMinute) accepted"
            )
        }
        for rule in policy.rules {
            promises.duration(rule.triggerWindow, at: DurationText.maximum, "rule \(rule.name) window")
            promises.duration(rule.forDuration, at: DurationText.maximum, "rule \(rule.name) for")
            promises.duration(rule.cooldown, at: DurationText.maximum, "rule \(rule.name) cooldown")
            promises.plausible(rule.nearZeroConnections, .count, "rule \(rule.name) nearZeroConnections")
            for threshold in [rule.connections, rule.sessions].compactMap({ $0 }) {
                promises.plausible(threshold.absolute, .count, "rule \(rule.name) absolute threshold")
                promises.expect(
                    threshold.relative.isFinite && threshold.relative >= 0,
                    "rule \(rule.name) relative threshold \(threshold.relative) accepted"
                )
            }
            promises.expect(
                rule.minConnections >= 0 && rule.minNodes >= 0,
                "rule \(rule.name) negative minimum accepted"
            )
            if case .auto(let target, let minimum, let maximum) = rule.strategy.connEvictRate {
                promises.duration(target, at: 86_400, "rule \(rule.name) evict-rate targetDuration")
                promises.expect(
                    1 <= minimum && minimum <= maximum,
                    "rule \(rule.name) evict rate \(minimum)...\(maximum) accepted"
                )
            }
        }
        return promises.broken
    }
}

extension Promises {
    /// What a loader of a user's file returned: every diagnostic points into the file (file:line:col, 1-based) and
    /// says something, and `value` is only given without an error.
    mutating func loaded<Value>(_ value: Value?, _ diagnostics: [Diagnostic], _ what: String) -> Value? {
        for diagnostic in diagnostics {
            expect(
                diagnostic.location.line >= 1 && diagnostic.location.column >= 1,
                "diagnostic at \(diagnostic.location): \(diagnostic.message)"
            )
            expect(!diagnostic.message.isEmpty, "an empty diagnostic at \(diagnostic.location)")
        }
        guard let value else { return nil }
        expect(!diagnostics.contains { $0.severity == .error }, "\(what) was loaded despite an error")
        return value
    }
}
