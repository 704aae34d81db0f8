import AutorebalancerCore
import Foundation

/// Duration text (`30s`, `1h30m`) as every policy and test field reads it, and its printed form: a parsed duration is
/// finite and prints as text that reads back to it (to the second); any `Double`, however hostile, prints.
enum DurationInput {
    @Sendable static func check(_ bytes: [UInt8]) -> [String] {
        var promises = Promises()
        if bytes.count >= 8 {
            let bits = bytes.prefix(8).enumerated().reduce(UInt64(0)) {
                $0 | UInt64($1.element) << (8 * UInt64($1.offset))
            }
            _ = DurationText.format(Double(bitPattern: bits))
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let seconds = DurationText.parse(text) else { return promises.broken }
        promises.expect(seconds.isFinite, "\(text.debugDescription) parsed as \(seconds)")
        let printed = DurationText.format(seconds)
        guard abs(seconds) <= DurationText.maximum else { return promises.broken }
        if let again = DurationText.parse(printed) {
            promises.expect(
                abs(again - seconds) <= 0.5,
                "\(text.debugDescription) = \(seconds)s prints as \(printed), which reads as \(again)s"
            )
        } else {
            promises.broken.append(
                "\(text.debugDescription) = \(seconds)s prints as \(printed), which does not read back"
            )
        }
        return promises.broken
    }
}
