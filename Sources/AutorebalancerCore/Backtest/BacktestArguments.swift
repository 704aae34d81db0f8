import Foundation

/// The `backtest` arguments as users write them (`--start now-6h`, `--step 30s`, `--cluster emqx/emqx-ee`), checked:
/// every problem names the option, the value and what to write instead.
public enum BacktestArguments {
    /// An argument that cannot be used; `description` is the whole message.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// A time: RFC 3339, Unix seconds, `now`, or `now-DURATION`, between 2000 and 2200.
    public static func time(_ text: String, option: String, now: Date) throws(Problem) -> Date {
        let time: Date
        if text == "now" {
            time = now
        } else if text.hasPrefix("now-"), let seconds = DurationText.parse(String(text.dropFirst(4))) {
            time = now.addingTimeInterval(-seconds)
        } else if let seconds = Double(text) {
            time = Date(timeIntervalSince1970: seconds)
        } else if let date = KubernetesTime.parse(text) {
            time = date
        } else {
            throw Problem(
                "\(option) \(text): expected RFC 3339 (2026-11-20T10:00:00Z), Unix seconds, now or now-DURATION"
            )
        }
        if let problem = SampleCheck.problem(withRecordedTime: time) { throw Problem("\(option) \(text) \(problem)") }
        return time
    }

    /// A step or lookback in seconds: positive, from ``BacktestRunner/minimumStep`` to a year.
    public static func duration(_ text: String, option: String) throws(Problem) -> TimeInterval {
        guard let seconds = DurationText.parse(text), seconds > 0 else {
            throw Problem("\(option) \(text): expected a positive duration such as 30s, 5m or 1h")
        }
        guard seconds >= BacktestRunner.minimumStep, seconds <= DurationText.maximum else {
            throw Problem(
                "\(option) \(text): must be between \(DurationText.format(BacktestRunner.minimumStep)) and \(DurationText.format(DurationText.maximum))"
            )
        }
        return seconds
    }

    /// `namespace/name`.
    public static func cluster(_ text: String) throws(Problem) -> ClusterReference {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw Problem("--cluster \(text): expected <namespace/name>, e.g. default/emqx-ee")
        }
        return ClusterReference(namespace: String(parts[0]), name: String(parts[1]))
    }

    /// The range a live backtest fetches: `--start` before `--end` (default `now`), at most
    /// ``BacktestRunner/maximumSteps`` steps of `--step`.
    public static func range(start: String, end: String?, step: String, now: Date) throws(Problem) -> BacktestRange {
        let startTime = try time(start, option: "--start", now: now)
        let endTime = try time(end ?? "now", option: "--end", now: now)
        guard startTime < endTime else { throw Problem("--start \(start) must be before --end \(end ?? "now")") }
        let range = BacktestRange(start: startTime, end: endTime, step: try duration(step, option: "--step"))
        guard range.stepCount <= Double(BacktestRunner.maximumSteps) else {
            throw Problem(
                "--start/--end/--step: \(BalanceEvaluation.format(range.stepCount)) steps; at most \(BacktestRunner.maximumSteps) are replayed (choose a longer step or a shorter range)"
            )
        }
        return range
    }
}

/// A span of history at a resolution: what a live backtest fetches and replays.
public struct BacktestRange: Sendable, Hashable {
    public var start: Date
    public var end: Date
    /// Seconds between evaluations (and between the fetched points).
    public var step: TimeInterval

    public init(start: Date, end: Date, step: TimeInterval) {
        self.start = start
        self.end = end
        self.step = step
    }

    /// How many instants the range holds, both ends included.
    public var stepCount: Double { (end.timeIntervalSince(start) / step).rounded(.down) + 1 }
}
