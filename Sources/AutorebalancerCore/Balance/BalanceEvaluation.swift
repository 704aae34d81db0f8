/// The outcome of EMQX's balance test for one quantity.
public enum BalanceVerdict: String, Sendable, Hashable, Codable {
    /// `avg(donors) <= avg(recipients) + abs` held (and the relative test did not).
    case balancedByAbsolute = "balanced by abs"
    /// `avg(donors) <= avg(recipients) * rel` held (and the absolute test did not).
    case balancedByRelative = "balanced by rel"
    /// Both inequalities held.
    case balancedByBoth = "balanced by abs and rel"
    /// Both inequalities failed: EMQX would start a rebalance.
    case imbalanced
    /// No donors or no recipients (empty cluster, one node, every node at the average): EMQX answers
    /// `nothing_to_balance`.
    case nothingToBalance = "nothing to balance"

    public var isBalanced: Bool { self != .imbalanced }
}

/// A structured explanation of EMQX's balance formula applied to one quantity of one node set.
public struct BalanceEvaluation: Sendable, Hashable, Codable {
    public var quantity: BalanceQuantity
    public var threshold: BalanceThreshold
    /// Donor node names (live connections ≥ the average), in input order.
    public var donors: [String]
    /// Recipient node names (live connections < the average), in input order.
    public var recipients: [String]
    /// This quantity's value on each donor, in `donors` order.
    public var donorValues: [Double]
    /// This quantity's value on each recipient, in `recipients` order.
    public var recipientValues: [Double]
    public var verdict: BalanceVerdict

    /// Mean of `donorValues`, `nil` when there are no donors.
    public var donorAverage: Double? { Self.mean(donorValues) }
    /// Mean of `recipientValues`, `nil` when there are no recipients.
    public var recipientAverage: Double? { Self.mean(recipientValues) }

    /// `avg(donors) - (avg(recipients) + abs)`: positive when the absolute test fails, by how much.
    public var absoluteExcess: Double? {
        guard let d = donorAverage, let r = recipientAverage else { return nil }
        return d - (r + threshold.absolute)
    }

    /// `avg(donors) - avg(recipients) * rel`: positive when the relative test fails, by how much.
    public var relativeExcess: Double? {
        guard let d = donorAverage, let r = recipientAverage else { return nil }
        return d - r * threshold.relative
    }

    /// The formula with its numbers, e.g. `avg(2553,2553,2554)=2553.3 <= 2340*1.1=2574.0 (balanced by rel)`.
    public var formula: String {
        guard let d = donorAverage, let r = recipientAverage else {
            let count = donorValues.count + recipientValues.count
            switch count {
            case 0: return "no nodes (nothing to balance)"
            case 1: return "one node (nothing to balance)"
            default:
                return
                    "all \(count) nodes at the average \(Self.format(Self.mean(donorValues + recipientValues) ?? 0)) (nothing to balance)"
            }
        }
        let donorText = "avg(\(donorValues.map(Self.format).joined(separator: ",")))=\(Self.format1(d))"
        let absText = "\(Self.format(r))+\(Self.format(threshold.absolute))=\(Self.format1(r + threshold.absolute))"
        let relText = "\(Self.format(r))*\(Self.format(threshold.relative))=\(Self.format1(r * threshold.relative))"
        switch verdict {
        case .balancedByRelative:
            return "\(donorText) <= \(relText) (balanced by rel)"
        case .balancedByAbsolute:
            return "\(donorText) <= \(absText) (balanced by abs)"
        case .balancedByBoth:
            return "\(donorText) <= \(absText) and <= \(relText) (balanced by abs and rel)"
        case .imbalanced:
            return "\(donorText) > \(relText) and > \(absText) (imbalanced)"
        case .nothingToBalance:
            return "\(donorText) (nothing to balance)"
        }
    }

    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// Integers without decimals, other values with up to three significant decimals trimmed.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        // Past 1e15 the fixed-point paths below would overflow Int64 (a trap); the shortest round-trip text is exact.
        if abs(value) >= 1e15 { return "\(value)" }
        if value == value.rounded() { return String(Int64(value)) }
        var text = String(format3: value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// Exactly one decimal, as in EMQX's docs and the product's formula text.
    public static func format1(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if abs(value) >= 1e15 { return "\(value)" }
        let scaled = (value * 10).rounded()
        let negative = scaled < 0
        let magnitude = Int64(abs(scaled))
        return "\(negative ? "-" : "")\(magnitude / 10).\(magnitude % 10)"
    }
}

extension String {
    /// Three decimals without Foundation's locale-dependent formatting. Values no fixed-point form can hold (NaN,
    /// infinities, beyond ±10¹⁵) print as Swift prints them instead of trapping.
    init(format3 value: Double) {
        guard value.isFinite, abs(value) < 1e15 else {
            self = "\(value)"
            return
        }
        let scaled = (value * 1000).rounded()
        let negative = scaled < 0
        let magnitude = Int64(abs(scaled))
        let fraction = String(magnitude % 1000)
        self =
            "\(negative ? "-" : "")\(magnitude / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
