import Foundation

/// The one place that decides whether a number read from a socket or a file can be a per-node quantity.
///
/// Every count, uptime and counter the agent is told (live sources, `backtest` inputs, `test` series) passes here
/// before the engine sees it. A value that fails is *unknown*, never clamped or rounded into a count: an agent that
/// disconnects clients by itself must not act on it. The limits are documented in docs/configuration.md
/// ("Hostile input").
public enum SampleCheck {
    /// What a number stands for; each has its own range.
    public enum Quantity: String, Sendable, Hashable, CaseIterable {
        /// Live connections, connections or sessions of one node.
        case count
        /// Seconds since a node started.
        case uptime
        /// A monotonic counter that resets when a node restarts.
        case counter
    }

    /// The most connections or sessions one EMQX node can plausibly hold: 100 million, twenty times the largest
    /// single-node figures EMQX publishes. Above it a number is a bug or an attack, not a load.
    public static let maximumCount: Double = 100_000_000
    /// A node up for more than 100 years is not a node.
    public static let maximumUptime: TimeInterval = 100 * 365 * 86_400
    /// Counters (CONNECTs since start) stay far below 2⁵³, where a `Double` stops counting in ones: 10¹⁴ is a
    /// thousand CONNECTs a second for three thousand years.
    public static let maximumCounter: Double = 1e14
    /// A sample may be this far ahead of the agent's clock (clock skew between hosts); further is unknown.
    public static let futureSkew: TimeInterval = 60
    /// The earliest sample time taken as real (2000-01-01T00:00:00Z): earlier is a unit mix-up or garbage.
    public static let earliestTime = Date(timeIntervalSince1970: 946_684_800)
    /// The latest time a file may speak of (2200-01-01T00:00:00Z): beyond it nothing can be drawn or replayed.
    public static let latestTime = Date(timeIntervalSince1970: 7_258_118_400)

    /// The largest value `quantity` may take.
    public static func maximum(of quantity: Quantity) -> Double {
        switch quantity {
        case .count: maximumCount
        case .uptime: maximumUptime
        case .counter: maximumCounter
        }
    }

    /// Why `value` cannot be a `quantity`, worded to follow "the value 1e+19 …", or `nil` when it can.
    public static func problem(with value: Double, as quantity: Quantity) -> String? {
        if value.isNaN { return "is not a number" }
        if value.isInfinite { return "is infinite" }
        if value < 0 { return "is negative" }
        let maximum = maximum(of: quantity)
        if value > maximum {
            return "is above the plausible maximum of \(BalanceEvaluation.format(maximum)) for \(quantity.noun)"
        }
        return nil
    }

    /// Why a sample time cannot be taken as a time of observation at `now`, or `nil` when it can. Old samples are not a
    /// problem here: the policy's staleness age judges them.
    public static func problem(withTime time: Date, now: Date) -> String? {
        let seconds = time.timeIntervalSince1970
        guard seconds.isFinite else { return "is not a time" }
        let ahead = time.timeIntervalSince(now)
        if ahead > futureSkew {
            return
                "is \(DurationText.format(ahead)) in the future (more than the \(DurationText.format(futureSkew)) of clock skew allowed)"
        }
        if time < earliestTime { return "is before 2000 (a unit mix-up: Prometheus times are seconds since 1970)" }
        return nil
    }

    /// Why a time read from a file (a backtest sample) cannot be replayed, or `nil` when it can.
    public static func problem(withRecordedTime time: Date) -> String? {
        let seconds = time.timeIntervalSince1970
        guard seconds.isFinite else { return "is not a time" }
        if time < earliestTime { return "is before 2000 (Prometheus times are seconds since 1970)" }
        if time > latestTime { return "is after 2200" }
        return nil
    }

    /// The value as the user would write it: `NaN`, `+Inf`, `-Inf`, `1e+19`, `3333`.
    public static func describe(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return BalanceEvaluation.format(value)
    }
}

extension SampleCheck.Quantity {
    var noun: String {
        switch self {
        case .count: "one node's count"
        case .uptime: "an uptime in seconds"
        case .counter: "a counter"
        }
    }
}
