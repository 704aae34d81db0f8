/// Number reading for sample values and timestamps, straight from the bytes.
enum ExpositionNumber {
    /// Exact powers of ten a `Double` holds (10^0 ... 10^22), for the Clinger fast path.
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Reads a sample value: a decimal float (`12`, `-3.5`, `.5`, `1e-3`, `28.615384615384613`) or `NaN`, `+Inf`,
    /// `-Inf` (any case, as Go's `ParseFloat` and Python's `float` accept). Returns `nil` for anything else.
    ///
    /// The result equals `strtod`'s: plain integers and short decimals are converted exactly (one correctly rounded
    /// IEEE operation on exact operands); everything else goes through the standard library's `Double(String)`.
    static func parseValue(_ p: UnsafePointer<UInt8>, _ n: Int) -> Double? {
        guard n > 0 else { return nil }
        var i = 0
        var negative = false
        if p[0] == UInt8(ascii: "+") || p[0] == UInt8(ascii: "-") {
            negative = p[0] == UInt8(ascii: "-")
            i = 1
        }
        guard i < n else { return nil }
        let first = p[i]
        if first != UInt8(ascii: ".") && (first &- UInt8(ascii: "0")) > 9 {
            return parseSpecial(p + i, n - i, negative: negative)
        }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var digitCount = 0
        var exponent = 0
        // Integer part.
        while i < n {
            let d = p[i] &- UInt8(ascii: "0")
            if d > 9 { break }
            digitCount += 1
            if mantissa != 0 || d != 0 {
                significantDigits += 1
                if significantDigits <= 19 { mantissa = mantissa &* 10 &+ UInt64(d) } else { exponent += 1 }
            }
            i += 1
        }
        // Fraction.
        if i < n && p[i] == UInt8(ascii: ".") {
            i += 1
            while i < n {
                let d = p[i] &- UInt8(ascii: "0")
                if d > 9 { break }
                digitCount += 1
                if mantissa != 0 || d != 0 {
                    significantDigits += 1
                    if significantDigits <= 19 {
                        mantissa = mantissa &* 10 &+ UInt64(d)
                        exponent -= 1
                    }
                } else {
                    exponent -= 1
                }
                i += 1
            }
        }
        guard digitCount > 0 else { return nil }
        // Exponent.
        if i < n && (p[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            var exponentNegative = false
            if i < n && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) {
                exponentNegative = p[i] == UInt8(ascii: "-")
                i += 1
            }
            var written = 0
            var exponentDigits = 0
            while i < n {
                let d = p[i] &- UInt8(ascii: "0")
                if d > 9 { break }
                if written < 100_000 { written = written * 10 + Int(d) }
                exponentDigits += 1
                i += 1
            }
            guard exponentDigits > 0 else { return nil }
            exponent += exponentNegative ? -written : written
        }
        guard i == n else { return nil }

        if significantDigits <= 19 {
            if mantissa == 0 { return negative ? -0.0 : 0.0 }
            if exponent == 0 {
                let value = Double(mantissa)
                return negative ? -value : value
            }
            if mantissa <= 1 << 53 && exponent >= -22 && exponent <= 22 {
                let value =
                    exponent > 0
                    ? Double(mantissa) * powersOfTen[exponent]
                    : Double(mantissa) / powersOfTen[-exponent]
                return negative ? -value : value
            }
        }
        // The grammar is checked above, so the standard library sees only plain decimal text.
        let text = String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
        return Double(text)
    }

    private static func parseSpecial(_ p: UnsafePointer<UInt8>, _ n: Int, negative: Bool) -> Double? {
        func equalsIgnoringCase(_ word: StaticString) -> Bool {
            guard word.utf8CodeUnitCount == n else { return false }
            let w = word.utf8Start
            for k in 0..<n where (p[k] | 0x20) != w[k] { return false }
            return true
        }
        if equalsIgnoringCase("nan") { return .nan }
        if equalsIgnoringCase("inf") || equalsIgnoringCase("infinity") { return negative ? -.infinity : .infinity }
        return nil
    }

    /// Reads an integer timestamp (milliseconds), optionally signed. `nil` when not an integer or out of range.
    static func parseTimestamp(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        guard n > 0 else { return nil }
        var i = 0
        var negative = false
        if p[0] == UInt8(ascii: "+") || p[0] == UInt8(ascii: "-") {
            negative = p[0] == UInt8(ascii: "-")
            i = 1
        }
        guard i < n else { return nil }
        var magnitude: UInt64 = 0
        while i < n {
            let d = p[i] &- UInt8(ascii: "0")
            guard d <= 9 else { return nil }
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { return nil }
            magnitude = sum
            i += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }
}
