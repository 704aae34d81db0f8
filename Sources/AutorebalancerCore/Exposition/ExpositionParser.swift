/// Reads the Prometheus text exposition format (0.0.4) and the OpenMetrics text shape that Prometheus and EMQX emit.
///
/// - `# TYPE` decides the family: a gauge named `*_count` stays a gauge; `_bucket`, `_count`, `_sum`, `_created`,
///   `_total` samples join the family whose declared type has that suffix. Samples no header announces form untyped
///   families of their own name.
/// - `# HELP` and `# TYPE` may come in either order; HELP is optional; `# UNIT`, other comments, blank lines and a
///   trailing blank line are ignored; `# EOF` ends the document; CRLF line ends are accepted.
/// - Values: decimal floats (read exactly as `strtod` reads them), `NaN`, `+Inf`, `-Inf`. Timestamps: integer
///   milliseconds. OpenMetrics exemplars (`# {...} v`) after the value are ignored.
///
/// Bad input never crashes and is never dropped silently: ``Mode/strict`` throws the first ``ExpositionError``;
/// ``Mode/lenient`` skips each broken line and lists it in ``ExpositionDocument/skipped``.
public struct ExpositionParser: Sendable {
    public enum Mode: Sendable, Hashable {
        /// The first broken line fails the whole parse.
        case strict
        /// Broken lines are skipped and reported in ``ExpositionDocument/skipped``; parsing never throws.
        case lenient
    }

    public var mode: Mode

    public init(mode: Mode = .strict) {
        self.mode = mode
    }

    /// Parses a whole exposition body.
    public func parse(_ bytes: [UInt8]) throws(ExpositionError) -> ExpositionDocument {
        let outcome = bytes.withUnsafeBytes { run($0) }
        return try outcome.get()
    }

    /// Parses a whole exposition body held in raw memory (e.g. an HTTP response buffer).
    public func parse(_ bytes: UnsafeRawBufferPointer) throws(ExpositionError) -> ExpositionDocument {
        try run(bytes).get()
    }

    /// Parses a whole exposition body given as text.
    public func parse(_ text: String) throws(ExpositionError) -> ExpositionDocument {
        var text = text
        let outcome = text.withUTF8 { run(UnsafeRawBufferPointer($0)) }
        return try outcome.get()
    }

    private func run(_ bytes: UnsafeRawBufferPointer) -> Result<ExpositionDocument, ExpositionError> {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            return .success(ExpositionDocument(families: []))
        }
        var scanner = ExpositionScanner(
            base: base.assumingMemoryBound(to: UInt8.self),
            count: bytes.count,
            lenient: mode == .lenient
        )
        if let failure = scanner.run() { return .failure(failure) }
        return .success(ExpositionDocument(families: scanner.families, skipped: scanner.skipped))
    }
}
