#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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

    /// Bounds on what one body may hold, so memory follows what is kept rather than what is sent. `nil` fields do not
    /// limit.
    public struct Limits: Sendable, Hashable {
        /// The longest line, in bytes.
        public var maximumLineLength: Int?
        /// The most metric families (built or not: every name is remembered to enforce the one-TYPE rule).
        public var maximumFamilies: Int?
        /// The longest metric name, in bytes.
        public var maximumNameLength: Int?
        /// The most samples kept in the families built.
        public var maximumKeptSamples: Int?

        public init(
            maximumLineLength: Int? = nil,
            maximumFamilies: Int? = nil,
            maximumNameLength: Int? = nil,
            maximumKeptSamples: Int? = nil
        ) {
            self.maximumLineLength = maximumLineLength
            self.maximumFamilies = maximumFamilies
            self.maximumNameLength = maximumNameLength
            self.maximumKeptSamples = maximumKeptSamples
        }

        /// No limits: the caller has the whole body in memory already.
        public static let unbounded = Limits()

        /// A scrape of one EMQX node (or of `mode=all_nodes_unaggregated`): EMQX 5 writes about 460 families on lines
        /// far below 1 KB; the agent keeps a few samples per node.
        public static let scrape = Limits(
            maximumLineLength: 64 << 10,
            maximumFamilies: 5_000,
            maximumNameLength: 1_024,
            maximumKeptSamples: 50_000
        )
    }

    public var mode: Mode
    /// The families to build (by header name); samples of other families are checked to the same rules and
    /// dropped. `nil` builds every family.
    public var families: Set<String>?
    public var limits: Limits

    public init(mode: Mode = .strict, families: Set<String>? = nil, limits: Limits = .unbounded) {
        self.mode = mode
        self.families = families
        self.limits = limits
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
        var scanner = ExpositionScanner(lenient: mode == .lenient, wanted: families, limits: limits)
        if let failure = scanner.scan(base.assumingMemoryBound(to: UInt8.self), bytes.count) {
            return .failure(failure)
        }
        return .success(ExpositionDocument(families: scanner.families, skipped: scanner.skipped))
    }

    /// A parse fed in pieces as a body arrives: whole lines are read as soon as they are complete, so only the
    /// unfinished last line is held. Results equal ``parse(_:)-(UnsafeRawBufferPointer)`` of the whole body.
    public func stream() -> ExpositionStream {
        ExpositionStream(
            scanner: ExpositionScanner(lenient: mode == .lenient, wanted: families, limits: limits),
            limits: limits
        )
    }
}

/// An exposition parse fed chunk by chunk (see ``ExpositionParser/stream()``).
public struct ExpositionStream {
    private var scanner: ExpositionScanner
    private let limits: ExpositionParser.Limits
    /// The start of a line whose newline has not arrived yet.
    private var pending: [UInt8] = []
    /// A line already over the length limit: its remaining bytes are skipped up to its newline.
    private var discarding = false
    private var failure: ExpositionError?
    /// Bytes fed so far.
    public private(set) var byteCount = 0

    init(scanner: ExpositionScanner, limits: ExpositionParser.Limits) {
        self.scanner = scanner
        self.limits = limits
    }

    /// Reads the complete lines of `chunk` (joined to what came before). In strict mode the first error is thrown and
    /// every later call throws it again.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer) throws(ExpositionError) {
        if let failure { throw failure }
        guard let raw = chunk.baseAddress, chunk.count > 0 else { return }
        byteCount += chunk.count
        let bytes = raw.assumingMemoryBound(to: UInt8.self)
        var start = 0
        let count = chunk.count
        while start < count {
            guard let found = memchr(bytes + start, Int32(UInt8(ascii: "\n")), count - start) else {
                try hold(bytes + start, count - start)
                return
            }
            let newline = UnsafeRawPointer(found) - UnsafeRawPointer(bytes)
            if discarding {
                discarding = false
            } else if pending.isEmpty {
                // The common case: every whole line of this chunk is read in place, then the tail is held.
                let lastNewline = lastIndex(of: UInt8(ascii: "\n"), in: bytes, from: newline, to: count)
                try read(bytes + start, lastNewline + 1 - start)
                start = lastNewline + 1
                continue
            } else {
                pending.append(contentsOf: UnsafeBufferPointer(start: bytes + start, count: newline - start))
                let line = pending
                pending.removeAll(keepingCapacity: true)
                try line.withUnsafeBufferPointer { buffer throws(ExpositionError) in
                    try read(buffer.baseAddress!, buffer.count)
                }
            }
            start = newline + 1
        }
    }

    /// Reads the last line (one without a final newline) and returns the document.
    public mutating func finish() throws(ExpositionError) -> ExpositionDocument {
        if let failure { throw failure }
        if !pending.isEmpty {
            let line = pending
            pending = []
            try line.withUnsafeBufferPointer { buffer throws(ExpositionError) in
                try read(buffer.baseAddress!, buffer.count)
            }
        }
        return ExpositionDocument(families: scanner.families, skipped: scanner.skipped)
    }

    private mutating func read(_ bytes: UnsafePointer<UInt8>, _ count: Int) throws(ExpositionError) {
        if let error = scanner.scan(bytes, count) {
            failure = error
            throw error
        }
    }

    /// Keeps the start of an unfinished line, refusing it once it is longer than the line limit.
    private mutating func hold(_ bytes: UnsafePointer<UInt8>, _ count: Int) throws(ExpositionError) {
        if discarding { return }
        if let limit = limits.maximumLineLength, pending.count + count > limit {
            let length = pending.count + count
            pending = []
            discarding = true
            if let error = scanner.refuseLine(length: length) {
                failure = error
                throw error
            }
            return
        }
        pending.append(contentsOf: UnsafeBufferPointer(start: bytes, count: count))
    }

    private func lastIndex(of byte: UInt8, in bytes: UnsafePointer<UInt8>, from: Int, to end: Int) -> Int {
        var index = end - 1
        while index > from, bytes[index] != byte { index -= 1 }
        return index
    }
}

/// UTF-8 validation without building a `String`.
enum UTF8Check {
    static func isValid(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        while i < n {
            let b0 = p[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                upper = 0x9F
            case 0xF0:
                length = 4
                lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                upper = 0x8F
            default: return false
            }
            guard i + length <= n else { return false }
            let b1 = p[i + 1]
            guard b1 >= lower, b1 <= upper else { return false }
            for k in 2..<max(2, length) where p[i + k] & 0xC0 != 0x80 { return false }
            i += length
        }
        return true
    }
}
