/// Text from outside (URLs, error bodies, label values, YAML keys) made safe to log or print.
///
/// - Credentials are redacted: the user-info of a URL (`http://user:password@host` → `http://***@host`), the value of
///   an `Authorization` or `Proxy-Authorization` header a server echoes back, `Bearer …`/`Basic …` tokens, and
///   `password=`, `token=`, `secret=`, `api_key=` parameters.
/// - Control characters are escaped (`\n`, `\r`, `\t`, `\u{1B}` …), so a value can never start a forged log line or
///   drive the terminal.
public enum SafeText {
    /// Redacts credentials and escapes control characters: what every logged or printed outside value goes through.
    public static func forLog(_ text: String) -> String {
        escapingControls(redacted(text))
    }

    /// `text` with every credential it carries replaced by `***`.
    public static func redacted(_ text: String) -> String {
        // Cheap checks first: most lines carry none of the patterns, and every URL the agent fetches passes here
        // (thousands a cycle), so the checks compare bytes rather than search Unicode text.
        var result = text
        if contains(result, "@") { result = result.replacing(userInfo) { "\($0.output.1)***@" } }
        if contains(result, "authorization") {
            result = result.replacing(authorizationHeader) { "\($0.output.1)\($0.output.2)***" }
        }
        if contains(result, "bearer") || contains(result, "basic") {
            result = result.replacing(schemeToken) { "\($0.output.1) ***" }
        }
        if contains(result, "=") {
            result = result.replacing(secretParameter) { "\($0.output.1)=***" }
        }
        return result
    }

    /// Whether `text` holds `needle` (lower-case ASCII) in any ASCII case. The same answer as searching the
    /// lower-cased text for these needles: the only non-ASCII scalar that lower-cases to ASCII is the Kelvin sign
    /// (to `k`), which none of them holds.
    public static func contains(_ text: String, _ needle: StaticString) -> Bool {
        let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        guard let first = pattern.first else { return true }
        func search(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            guard bytes.count >= pattern.count else { return false }
            for start in 0...(bytes.count - pattern.count) where lower(bytes[start]) == first {
                var index = 1
                while index < pattern.count, lower(bytes[start + index]) == pattern[index] { index += 1 }
                if index == pattern.count { return true }
            }
            return false
        }
        if let found = text.utf8.withContiguousStorageIfAvailable(search) { return found }
        return Array(text.utf8).withUnsafeBufferPointer(search)
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    /// `text` with control characters (C0, DEL, C1, and the Unicode line and paragraph separators) escaped.
    public static func escapingControls(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isControl(scalar): out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
    }

    // MARK: Patterns

    /// `scheme://userinfo@`: userinfo holds no `/`, whitespace or `@`.
    nonisolated(unsafe) static let userInfo = #/([A-Za-z][A-Za-z0-9+.\-]*://)[^/\s@]+@/#
    /// `Authorization: value`, `"authorization":"value"`, `authorization=value` up to the end of the value. An
    /// escaped line end (`\n` after ``escapingControls(_:)``, so text redacted twice) ends it too: the redaction never
    /// swallows the lines that follow.
    nonisolated(unsafe) static let authorizationHeader =
        #/(?i)((?:proxy-)?authorization)(["']?\s*[:=]\s*["']?)[^\r\n\\"',;}]+/#
    /// `Bearer token`, `Basic base64` (as headers write them; lower-case "basic" is too common in prose).
    nonisolated(unsafe) static let schemeToken = #/\b(Bearer|bearer|BEARER|Basic|BASIC)\s+[A-Za-z0-9._~+/=\-]{6,}/#
    /// `password=…`, `token=…` and similar in query strings and form bodies.
    nonisolated(unsafe) static let secretParameter =
        #/(?i)\b(password|passwd|secret|token|access_token|api_key|apikey|api-key)=[^&\s"']+/#
}
