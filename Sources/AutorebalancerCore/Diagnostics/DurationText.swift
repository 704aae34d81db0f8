import Foundation

/// Durations as users write them in policy and test files: `500ms`, `30s`, `5m`, `1h30m`, `1d`. A bare `0` is zero.
public enum DurationText {
    /// The longest duration any file may give unless its field says less: one year (365 days).
    public static let maximum: TimeInterval = 365 * 86_400

    /// Seconds, or `nil` when the text is not a duration (or too long for a `Double`).
    public static func parse(_ text: String) -> TimeInterval? {
        guard let seconds = parseUnbounded(text), seconds.isFinite else { return nil }
        return seconds
    }

    private static func parseUnbounded(_ text: String) -> TimeInterval? {
        let text = text.trimmingCharacters(in: .whitespaces)
        if text == "0" { return 0 }
        if text.hasPrefix("-") { return parseUnbounded(String(text.dropFirst())).map { -$0 } }
        var total: Double = 0
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, let number = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unitText = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unitText.count)
            let factor: Double
            switch unitText {
            case "ms": factor = 0.001
            case "s": factor = 1
            case "m": factor = 60
            case "h": factor = 3600
            case "d": factor = 86400
            default: return nil
            }
            total += number * factor
        }
        return total
    }

    /// The compact form: `40s`, `2m`, `1h30m`, `1m30s`, `500ms`. Total: any `Double` formats (NaN and infinities as
    /// such, ages beyond any calendar in days), so a hostile timestamp cannot trap a log line.
    public static func format(_ seconds: TimeInterval) -> String {
        if seconds.isNaN { return "NaN" }
        if seconds.isInfinite { return seconds > 0 ? "+Inf" : "-Inf" }
        if seconds < 0 { return "-" + format(-seconds) }
        if seconds == 0 { return "0s" }
        // Past Int's exact range: whole days, in the number form the rest of the output uses.
        if seconds >= 1e15 { return "\(BalanceEvaluation.format((seconds / 86_400).rounded()))d" }
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        var remaining = Int(seconds.rounded())
        var text = ""
        for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] where remaining >= size {
            text += "\(remaining / size)\(unit)"
            remaining %= size
        }
        return text.isEmpty ? "0s" : text
    }
}
