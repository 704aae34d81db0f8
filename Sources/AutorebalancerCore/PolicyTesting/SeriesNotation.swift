/// One step of an input series.
public enum SeriesValue: Sendable, Hashable {
    /// A fresh sample at this step.
    case sample(Double)
    /// `_`: no sample at all; the node is absent from the snapshot (missing).
    case absent
    /// `.`: no new sample; the previous one is carried with its old time (and turns stale after `spec.staleness`).
    case carried
}

/// promtool's compact series notation, extended for "no sample": `0+100x10 1000x5 _x3 .x2`.
///
/// - `a` one sample; `axN` N+1 samples of `a`; `a+bxN` / `a-bxN` the N+1 samples a, a±b, …, a±N·b (as promtool).
/// - `_` the node reports nothing at that step (missing); `_xN` N such steps.
/// - `.` no new sample, the previous one keeps its timestamp (stale after the policy's staleness age); `.xN` N steps.
public enum SeriesNotation {
    /// The most steps one series may expand to: a day at one evaluation per second. A longer series is refused
    /// before anything is allocated.
    public static let maximumLength = 100_000

    /// The expanded series, or an error message naming the bad token.
    public static func parse(
        _ text: String,
        maximumLength: Int = SeriesNotation.maximumLength
    ) -> Result<[SeriesValue], SeriesNotationError> {
        var values: [SeriesValue] = []
        func fits(_ more: Int, _ token: String) -> SeriesNotationError? {
            more <= maximumLength - values.count ? nil : SeriesNotationError(token: token, tooLong: maximumLength)
        }
        for token in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            let token = String(token)
            if let error = fits(1, token) { return .failure(error) }
            if token == "_" {
                values.append(.absent)
                continue
            }
            if token == "." {
                values.append(.carried)
                continue
            }
            if token.hasPrefix("_x") || token.hasPrefix(".x") {
                guard let n = Int(token.dropFirst(2)), n >= 1 else {
                    return .failure(
                        SeriesNotationError(
                            token: token,
                            tooLong: YAMLReader.isDigits(String(token.dropFirst(2))) ? maximumLength : nil
                        )
                    )
                }
                if let error = fits(n, token) { return .failure(error) }
                values += Array(repeating: token.hasPrefix("_") ? .absent : .carried, count: n)
                continue
            }
            let parts = token.split(separator: "x", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 1 {
                guard let value = Double(token) else { return .failure(SeriesNotationError(token: token)) }
                values.append(.sample(value))
                continue
            }
            guard let count = Int(parts[1]), count >= 0 else {
                return .failure(
                    SeriesNotationError(
                        token: token,
                        tooLong: YAMLReader.isDigits(String(parts[1])) ? maximumLength : nil
                    )
                )
            }
            // count + 1 samples; compared without adding, so Int.max cannot overflow.
            if count >= maximumLength - values.count {
                return .failure(SeriesNotationError(token: token, tooLong: maximumLength))
            }
            let head = parts[0]
            var start: Double?
            var step: Double = 0
            // The sign separating start and step is the last + or - that is not the leading sign.
            if let signIndex = head.indices.dropFirst().last(where: { head[$0] == "+" || head[$0] == "-" }),
                head[head.index(before: signIndex)] != "e"
            {
                start = Double(head[..<signIndex])
                guard let magnitude = Double(head[head.index(after: signIndex)...]) else {
                    return .failure(SeriesNotationError(token: token))
                }
                step = head[signIndex] == "+" ? magnitude : -magnitude
            } else {
                start = Double(head)
            }
            guard let start else { return .failure(SeriesNotationError(token: token)) }
            for i in 0...count { values.append(.sample(start + Double(i) * step)) }
        }
        return .success(values)
    }
}

/// A token the series notation does not understand, or one that makes the series too long.
public struct SeriesNotationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var token: String
    /// The length limit the token goes past, when that is the problem.
    public var tooLong: Int?

    public init(token: String, tooLong: Int? = nil) {
        self.token = token
        self.tooLong = tooLong
    }

    public var description: String {
        if let tooLong {
            return "\"\(token)\" makes the series longer than \(tooLong) steps; a test replays at most that many"
        }
        return
            "\"\(token)\" is not series notation; write values like 100, 0+100x10, 3333x20, _ (no sample), _x3, . (last sample carried), .x3"
    }
}
