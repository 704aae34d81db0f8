import AutorebalancerCore
import Foundation

/// Deterministic Rebalance names: the same decision always yields the same name, so a retried create, a second
/// replica or a restarted agent can never create a duplicate (the API answers AlreadyExists instead).
///
/// `<cluster>-<trigger>-<yyyymmdd>t<hhmmss>` (UTC), e.g. `emqx-ee-scaleout-20261120t102200`; retries append `-r<n>`.
/// Names are DNS-1123 labels of at most 63 characters: longer ones keep a prefix and end in an 8-hex-digit hash of
/// the full name.
public enum RebalanceNaming {
    public static let maximumLength = 63

    public static func name(cluster: String, trigger: Trigger, at time: Date, attempt: Int = 1) -> String {
        var base = "\(cluster)-\(trigger.rawValue.lowercased())-\(timestamp(time))"
        if attempt > 1 { base += "-r\(attempt)" }
        return dns1123(base)
    }

    /// `20261120t102200` in UTC.
    public static func timestamp(_ time: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: time)
        func two(_ value: Int?) -> String {
            let v = value ?? 0
            return v < 10 ? "0\(v)" : "\(v)"
        }
        return "\(c.year ?? 0)\(two(c.month))\(two(c.day))t\(two(c.hour))\(two(c.minute))\(two(c.second))"
    }

    /// Lower-cases, replaces anything outside `[a-z0-9-]` with `-`, trims `-` at both ends, and shortens to 63
    /// characters with a hash suffix when needed.
    public static func dns1123(_ text: String) -> String {
        var name = String(
            text.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" ? $0 : "-" }
        )
        name = trimDashes(name)
        if name.count > maximumLength {
            let hash = StableHash.shortHex(text)
            name = trimDashes(String(name.prefix(maximumLength - hash.count - 1))) + "-" + hash
        }
        return name.isEmpty ? "rebalance" : name
    }

    private static func trimDashes(_ text: String) -> String {
        var text = Substring(text)
        while text.first == "-" { text.removeFirst() }
        while text.last == "-" { text.removeLast() }
        return String(text)
    }
}
