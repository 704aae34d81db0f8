import Foundation

extension Swift.Duration {
    /// The duration in seconds as a `Double` (for `Date` arithmetic and display).
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }

    /// As messages and logs print it: `0.15s`, `1.6s`, `20s` under a minute, then `2m`, `1h30m` (never Swift's own
    /// `20.0 seconds`).
    public var text: String {
        let seconds = seconds
        guard seconds.isFinite, seconds < 60 else { return DurationText.format(seconds) }
        var text = String(format: "%.2f", seconds)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text + "s"
    }
}
