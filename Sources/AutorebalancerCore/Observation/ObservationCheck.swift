import Foundation

/// The boundary between a live metric source and the engine: what a source answered, with every number that cannot
/// be one node's quantity made unknown and said so.
///
/// - A count, uptime or counter that is NaN, infinite, negative or above its plausible maximum (``SampleCheck``)
///   becomes `nil` (unknown), with a warning naming the node and the value.
/// - A node whose sample time is in the future beyond the allowed clock skew, or before 2000, is left out (all its
///   numbers are unknown: they cannot be dated).
/// - A node reported more than once is left out: which report is right cannot be told.
///
/// The engine then sees the node as missing data, which holds every rule back: an implausible value never counts.
public enum ObservationCheck {
    /// The observation with implausible values removed and one warning per removal appended.
    /// - Parameters:
    ///   - observation: what the source answered.
    ///   - now: the evaluation instant (the agent's clock).
    public static func validate(_ observation: SourceObservation, at now: Date) -> SourceObservation {
        var warnings = observation.warnings
        var reports: [String: Int] = [:]
        for node in observation.nodes { reports[node.name, default: 0] += 1 }
        var nodes: [NodeObservation] = []
        var warnedTwice: Set<String> = []
        for node in observation.nodes {
            if let count = reports[node.name], count > 1 {
                if warnedTwice.insert(node.name).inserted {
                    warnings.append(
                        "node \(node.name) was reported \(count) times in one answer; its numbers are unknown this cycle"
                    )
                }
                continue
            }
            if let time = node.observedAt, let problem = SampleCheck.problem(withTime: time, now: now) {
                warnings.append(
                    "node \(node.name): the sample time \(describe(time)) \(problem); its numbers are unknown this cycle"
                )
                continue
            }
            var checked = node
            for field in fields {
                guard let value = checked[keyPath: field.keyPath],
                    let problem = SampleCheck.problem(with: value, as: field.quantity)
                else { continue }
                warnings.append(
                    "node \(node.name): \(field.name) \(SampleCheck.describe(value)) \(problem); unknown this cycle"
                )
                checked[keyPath: field.keyPath] = nil
            }
            nodes.append(checked)
        }
        return SourceObservation(nodes: nodes, warnings: warnings)
    }

    struct Field {
        var keyPath: WritableKeyPath<NodeObservation, Double?>
        var name: String
        var quantity: SampleCheck.Quantity
    }

    static var fields: [Field] {
        [
            Field(keyPath: \.liveConnections, name: "live connections", quantity: .count),
            Field(keyPath: \.connections, name: "connections", quantity: .count),
            Field(keyPath: \.sessions, name: "sessions", quantity: .count),
            Field(keyPath: \.uptimeSeconds, name: "uptime (seconds)", quantity: .uptime),
            Field(keyPath: \.restartCounter, name: "restart counter", quantity: .counter),
        ]
    }

    /// An RFC 3339 time when it can be written as one, else the raw seconds.
    static func describe(_ time: Date) -> String {
        guard time >= SampleCheck.earliestTime, time <= SampleCheck.latestTime else {
            return "\(SampleCheck.describe(time.timeIntervalSince1970)) s since 1970"
        }
        return KubernetesTime.format(time)
    }
}
