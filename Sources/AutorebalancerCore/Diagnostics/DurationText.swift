import Foundation

/// Durations as users write them in policy and test files: `500ms`, `30s`, `5m`, `1h30m`, `1d`. A bare `0` is zero.
public enum DurationText {
    /// Seconds, or `nil` when the text is not a duration.
    public static func parse(_ text: String) -> TimeInterval? {
        let text = text.trimmingCharacters(in: .whitespaces)
        if text == "0" { return 0 }
        if text.hasPrefix("-") { return parse(String(text.dropFirst())).map { -$0 } }
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

    /// The compact form: `40s`, `2m`, `1h30m`, `1m30s`, `500ms`.
    public static func format(_ seconds: TimeInterval) -> String {
        if seconds < 0 { return "-" + format(-seconds) }
        if seconds == 0 { return "0s" }
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
