#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

private let space = UInt8(ascii: " ")
private let tab = UInt8(ascii: "\t")
private let hash = UInt8(ascii: "#")
private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")

/// The byte-level state of one parse. Each line is read completely before anything is added to the result, so a
/// line skipped in lenient mode leaves no trace but its error.
///
/// The bytes arrive in one or more runs of whole lines (``scan(_:_:)``), so a body can be read as it streams in.
/// Families outside ``ExpositionParser/families`` are read to the same rules but not built: their samples and HELP
/// texts are checked and dropped, so memory follows what the caller keeps, not the size of the body.
struct ExpositionScanner {
    /// The run of lines being read.
    private var base: UnsafePointer<UInt8>
    private var count: Int
    let lenient: Bool
    /// Families to build; `nil` builds every family.
    let wanted: Set<String>?
    /// The UTF-8 of ``wanted``'s names (an empty name, which no line has, left out) when there are at most
    /// ``bytewiseWantedLimit``: compared byte by byte; more are looked up in the set.
    private let wantedBytes: [[UInt8]]?
    private static let bytewiseWantedLimit = 16
    let limits: ExpositionParser.Limits

    /// Every family read, built or not (a family not built keeps an empty name; ``names`` has it).
    private var allFamilies: [MetricFamily] = []
    private(set) var skipped: [ExpositionError] = []
    /// Samples kept in built families.
    private var keptSamples = 0

    private var names = FamilyNameTable()
    private var typeDeclared: [Bool] = []
    /// Whether a family is built (wanted) or only checked.
    private var familyKept: [Bool] = []
    /// Whether any sample of a family was read (built or not).
    private var familyHasSamples: [Bool] = []
    /// The family the previous line touched; samples almost always follow their header.
    private var current = -1
    private var interner = StringInterner()
    /// How many labels the previous sample had, to size the next sample's label array in one allocation.
    private var labelCountHint = 0
    private var escapeScratch: [UInt8] = []
    private var lineNumber = 0
    private var lineStart = 0
    private var sawEOF = false

    /// Lines skipped in lenient mode past this many are counted, not kept (`skipped` stays bounded).
    static let skippedLimit = 1_000
    private(set) var skippedBeyondLimit = 0

    /// The families built, in the order the body declares them.
    var families: [MetricFamily] {
        zip(allFamilies, familyKept).compactMap { family, kept in kept ? family : nil }
    }

    init(lenient: Bool, wanted: Set<String>? = nil, limits: ExpositionParser.Limits = .unbounded) {
        // No run yet: `count` 0 means `base` is never read until `scan` sets both.
        self.base = UnsafePointer(bitPattern: 1)!
        self.count = 0
        self.lenient = lenient
        self.wanted = wanted
        self.wantedBytes = wanted.flatMap { names in
            names.count <= Self.bytewiseWantedLimit ? names.filter { !$0.isEmpty }.map { Array($0.utf8) } : nil
        }
        self.limits = limits
    }

    /// Reads every line of `count` bytes at `base`: whole lines (a last line without its newline is read as a whole
    /// line too). Returns the error that stops a strict parse, `nil` otherwise.
    mutating func scan(_ base: UnsafePointer<UInt8>, _ count: Int) -> ExpositionError? {
        self.base = base
        self.count = count
        var start = 0
        while start < count {
            lineNumber += 1
            lineStart = start
            var end: Int
            if let newline = memchr(base + start, Int32(UInt8(ascii: "\n")), count - start) {
                end = UnsafeRawPointer(newline) - UnsafeRawPointer(base)
            } else {
                end = count
            }
            let next = end + 1
            if end > start && base[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            do {
                try line(start, end)
            } catch {
                if !lenient { return error }
                if skipped.count < Self.skippedLimit { skipped.append(error) } else { skippedBeyondLimit += 1 }
            }
            start = next
        }
        return nil
    }

    /// Counts a line the caller refused before scanning it (longer than the line limit), with the scanner's numbering.
    mutating func refuseLine(length: Int) -> ExpositionError? {
        lineNumber += 1
        let error = ExpositionError(
            line: lineNumber,
            column: 1,
            message: "the line is longer than \(limits.maximumLineLength ?? length) bytes (\(length) bytes so far)"
        )
        if !lenient { return error }
        if skipped.count < Self.skippedLimit { skipped.append(error) } else { skippedBeyondLimit += 1 }
        return nil
    }

    // MARK: Lines

    private mutating func line(_ start: Int, _ end: Int) throws(ExpositionError) {
        if let limit = limits.maximumLineLength, end - start > limit {
            throw failure(at: start, "the line is \(end - start) bytes, longer than the limit of \(limit)")
        }
        var p = skipBlanks(start, end)
        if p == end { return }
        if sawEOF { throw failure(at: p, "content after '# EOF'; the document must end there") }
        if base[p] == hash {
            try comment(p + 1, end)
            return
        }
        p = start
        try sample(p, end)
    }

    private mutating func comment(_ start: Int, _ end: Int) throws(ExpositionError) {
        let keywordStart = skipBlanks(start, end)
        guard keywordStart > start else { return }  // `#text`: an ordinary comment
        let keywordEnd = tokenEnd(keywordStart, end)
        let keyword = bytesEqual(keywordStart, keywordEnd)
        if keyword("HELP") {
            try help(keywordEnd, end)
        } else if keyword("TYPE") {
            try type(keywordEnd, end)
        } else if keyword("EOF") {
            let rest = skipBlanks(keywordEnd, end)
            guard rest == end else { throw failure(at: rest, "unexpected text after '# EOF'") }
            sawEOF = true
        }
        // `# UNIT` and any other comment carry nothing this parser keeps.
    }

    private mutating func help(_ start: Int, _ end: Int) throws(ExpositionError) {
        let nameStart = skipBlanks(start, end)
        guard nameStart > start, nameStart < end else {
            throw failure(at: nameStart, "'# HELP' needs a metric name: '# HELP <name> <text>'")
        }
        let nameEnd = try metricName(nameStart, end, what: "'# HELP'")
        if nameEnd < end && !isBlank(base[nameEnd]) {
            throw failure(
                at: nameEnd,
                "expected a space after the metric name in '# HELP', found \(describeByte(nameEnd))"
            )
        }
        // One or more blanks separate name and text; text may be empty (EMQX writes `# HELP name ` with a space).
        let textStart = skipBlanks(nameEnd, end)
        let text = try helpText(textStart, end)
        let position = try family(nameStart, nameEnd)
        if allFamilies[position].help != nil {
            throw failure(at: nameStart, "second '# HELP' line for metric family '\(names.name(position))'")
        }
        // A family that is not built keeps only the fact that it has a HELP line (for the one-HELP rule).
        allFamilies[position].help = familyKept[position] ? text : ""
        current = position
    }

    private mutating func helpText(_ start: Int, _ end: Int) throws(ExpositionError) -> String {
        var p = start
        while p < end && base[p] != backslash { p += 1 }
        if p == end {
            guard let text = interner.string(base + start, end - start) else {
                throw failure(at: start, "HELP text is not valid UTF-8")
            }
            return text
        }
        escapeScratch.removeAll(keepingCapacity: true)
        p = start
        while p < end {
            let byte = base[p]
            if byte == backslash {
                guard p + 1 < end else { throw failure(at: p, "HELP text ends with a lone backslash; write '\\\\'") }
                switch base[p + 1] {
                case backslash: escapeScratch.append(backslash)
                case UInt8(ascii: "n"): escapeScratch.append(UInt8(ascii: "\n"))
                case quote: escapeScratch.append(quote)
                default:
                    throw failure(
                        at: p,
                        "invalid escape '\\\(describeRaw(p + 1))' in HELP text; only \\\\, \\n and \\\" are allowed"
                    )
                }
                p += 2
            } else {
                escapeScratch.append(byte)
                p += 1
            }
        }
        let decoded: String? = escapeScratch.withUnsafeBufferPointer {
            StringInterner.makeString($0.baseAddress!, $0.count)
        }
        guard let text = decoded else { throw failure(at: start, "HELP text is not valid UTF-8") }
        return text
    }

    private mutating func type(_ start: Int, _ end: Int) throws(ExpositionError) {
        let nameStart = skipBlanks(start, end)
        guard nameStart > start, nameStart < end else {
            throw failure(at: nameStart, "'# TYPE' needs a metric name and a type: '# TYPE <name> <type>'")
        }
        let nameEnd = try metricName(nameStart, end, what: "'# TYPE'")
        let typeStart = skipBlanks(nameEnd, end)
        guard typeStart > nameEnd, typeStart < end else {
            throw failure(
                at: typeStart,
                "'# TYPE' needs a type after the metric name (counter, gauge, histogram, summary, untyped)"
            )
        }
        let typeEnd = tokenEnd(typeStart, end)
        guard let metricType = self.metricType(typeStart, typeEnd) else {
            throw failure(
                at: typeStart,
                "unknown metric type '\(printable(typeStart, typeEnd))'; expected counter, gauge, histogram, summary, untyped (or OpenMetrics unknown, info, stateset, gaugehistogram)"
            )
        }
        let rest = skipBlanks(typeEnd, end)
        guard rest == end else { throw failure(at: rest, "unexpected text after the type in '# TYPE'") }
        // A `# TYPE` usually opens its family (EMQX writes it before `# HELP`): the name is looked up by its bytes, and
        // a string is made only for a family that is built or for a message.
        let existing = currentFamily(named: nameStart, nameEnd) ?? names.find(base + nameStart, nameEnd - nameStart)
        if let existing {
            let name = names.name(existing)
            if typeDeclared[existing] {
                throw failure(at: nameStart, "second '# TYPE' line for metric family '\(name)'")
            }
            if familyHasSamples[existing] {
                throw failure(
                    at: nameStart,
                    "'# TYPE' line for '\(name)' comes after samples of that name; it must precede them"
                )
            }
        }
        let position: Int
        if let existing {
            position = existing
        } else {
            position = try addFamily(nameStart, nameEnd)
        }
        allFamilies[position].type = metricType
        typeDeclared[position] = true
        current = position
    }

    // MARK: Samples

    private mutating func sample(_ start: Int, _ end: Int) throws(ExpositionError) {
        let nameStart = skipBlanks(start, end)
        // Most sample lines repeat the name of the family just read: compare it whole instead of byte by byte.
        let nameEnd: Int
        var knownFamily = -1
        if current >= 0, case let length = names.length(current), end - nameStart > length,
            case let next = base[nameStart + length], next == UInt8(ascii: "{") || isBlank(next),
            names.matches(current, base + nameStart, length)
        {
            nameEnd = nameStart + length
            knownFamily = current
        } else {
            nameEnd = try metricName(nameStart, end, what: "a sample line")
        }
        // Which family the sample joins (an existing one, or a new untyped one of its name) decides whether it is built.
        let existingFamily = knownFamily >= 0 ? knownFamily : findOwningFamily(nameStart, nameEnd)
        let keep = existingFamily.map { familyKept[$0] } ?? isWanted(nameStart, nameEnd)
        var p = skipBlanks(nameEnd, end)
        var labels: [MetricLabel] = []
        if p < end && base[p] == UInt8(ascii: "{") {
            if keep {
                labels.reserveCapacity(knownFamily >= 0 ? max(labelCountHint, 1) : 4)
                p = try self.labels(p + 1, end, nameStart: nameStart, nameEnd: nameEnd, into: &labels)
                labelCountHint = labels.count
            } else {
                p = try checkLabels(p + 1, end, nameStart: nameStart, nameEnd: nameEnd)
            }
            p = skipBlanks(p, end)
        } else if p == nameEnd && p < end {
            throw failure(at: p, "unexpected \(describeByte(p)) in metric name '\(printable(nameStart, nameEnd))'")
        }
        guard p < end else {
            throw failure(at: p, "missing value for sample '\(printable(nameStart, nameEnd))'")
        }
        let valueEnd = tokenEnd(p, end)
        guard let value = ExpositionNumber.parseValue(base + p, valueEnd - p) else {
            throw failure(
                at: p,
                "invalid value '\(printable(p, valueEnd))' for sample '\(printable(nameStart, nameEnd))'; expected a number, NaN, +Inf or -Inf"
            )
        }
        p = skipBlanks(valueEnd, end)
        var timestamp: Int64?
        if p < end && base[p] != hash {
            let timestampEnd = tokenEnd(p, end)
            guard let parsed = ExpositionNumber.parseTimestamp(base + p, timestampEnd - p) else {
                throw failure(at: p, "invalid timestamp '\(printable(p, timestampEnd))'; expected integer milliseconds")
            }
            timestamp = parsed
            p = skipBlanks(timestampEnd, end)
        }
        // An OpenMetrics exemplar (`# {trace_id="..."} 1`) may follow; it is not part of the sample.
        guard p == end || base[p] == hash else {
            throw failure(at: p, "unexpected text after the sample's timestamp")
        }
        if keep, let maximum = limits.maximumKeptSamples, keptSamples >= maximum {
            throw failure(
                at: nameStart,
                "more than \(maximum) samples in the metric families read; the body is not one node's metrics"
            )
        }
        let position: Int
        if let existingFamily { position = existingFamily } else { position = try family(nameStart, nameEnd) }
        familyHasSamples[position] = true
        current = position
        guard keep else { return }
        keptSamples += 1
        commitSample(position, nameStart, nameEnd, labels: labels, value: value, timestamp: timestamp)
    }

    /// Whether a family of exactly this name is to be built.
    private func isWanted(_ nameStart: Int, _ nameEnd: Int) -> Bool {
        guard let wanted else { return true }
        guard let wantedBytes else {
            return wanted.contains(text(nameStart, nameEnd))
        }
        // A few names, compared as bytes: no string made, nothing hashed.
        return wantedBytes.contains { matches($0, nameStart, nameEnd) }
    }

    /// Reads a label set to the same rules as ``labels(_:_:nameStart:nameEnd:into:)`` (names, `=`, quoted values with
    /// valid escapes and UTF-8, no duplicate name, commas) without building it. Returns the index after `}`.
    private mutating func checkLabels(
        _ start: Int,
        _ end: Int,
        nameStart: Int,
        nameEnd: Int
    ) throws(ExpositionError) -> Int {
        var names: [(Int, Int)] = []
        var p = skipBlanks(start, end)
        while true {
            guard p < end else {
                throw failure(at: p, "label set of '\(printable(nameStart, nameEnd))' is not closed; expected '}'")
            }
            if base[p] == UInt8(ascii: "}") { return p + 1 }
            let labelNameStart = p
            guard isNameStart(base[p]) && base[p] != UInt8(ascii: ":") else {
                throw failure(at: p, "expected a label name or '}', found \(describeByte(p))")
            }
            p += 1
            while p < end && isNameContinue(base[p]) && base[p] != UInt8(ascii: ":") { p += 1 }
            let labelNameEnd = p
            p = skipBlanks(p, end)
            guard p < end && base[p] == UInt8(ascii: "=") else {
                throw failure(
                    at: p,
                    "expected '=' after label name '\(printable(labelNameStart, labelNameEnd))', found \(describeByte(p))"
                )
            }
            p = skipBlanks(p + 1, end)
            guard p < end && base[p] == quote else {
                throw failure(
                    at: p,
                    "expected '\"' to start the value of label '\(printable(labelNameStart, labelNameEnd))', found \(describeByte(p))"
                )
            }
            let afterValue = try checkLabelValue(p, end, labelNameStart, labelNameEnd)
            let length = labelNameEnd - labelNameStart
            for (otherStart, otherEnd) in names
            where otherEnd - otherStart == length && memcmp(base + otherStart, base + labelNameStart, length) == 0 {
                throw failure(
                    at: labelNameStart,
                    "duplicate label '\(printable(labelNameStart, labelNameEnd))' in sample '\(printable(nameStart, nameEnd))'"
                )
            }
            names.append((labelNameStart, labelNameEnd))
            p = skipBlanks(afterValue, end)
            guard p < end else {
                throw failure(at: p, "label set of '\(printable(nameStart, nameEnd))' is not closed; expected '}'")
            }
            if base[p] == UInt8(ascii: ",") {
                p = skipBlanks(p + 1, end)
            } else if base[p] != UInt8(ascii: "}") {
                throw failure(
                    at: p,
                    "expected ',' or '}' after the value of label '\(printable(labelNameStart, labelNameEnd))', found \(describeByte(p))"
                )
            }
        }
    }

    /// Checks a quoted label value starting at the opening quote; returns the index after the closing quote.
    private func checkLabelValue(
        _ open: Int,
        _ end: Int,
        _ labelNameStart: Int,
        _ labelNameEnd: Int
    ) throws(ExpositionError) -> Int {
        let start = open + 1
        var p = start
        while p < end {
            let byte = base[p]
            if byte == quote { break }
            if byte == backslash {
                guard p + 1 < end else { break }
                switch base[p + 1] {
                case backslash, quote, UInt8(ascii: "n"): break
                default:
                    throw failure(
                        at: p,
                        "invalid escape '\\\(describeRaw(p + 1))' in the value of label '\(printable(labelNameStart, labelNameEnd))'; only \\\\, \\\" and \\n are allowed"
                    )
                }
                p += 2
            } else {
                p += 1
            }
        }
        guard p < end else {
            throw failure(
                at: open,
                "value of label '\(printable(labelNameStart, labelNameEnd))' is not terminated; expected a closing '\"' before the end of the line"
            )
        }
        // Escapes are ASCII, so the raw bytes are valid UTF-8 exactly when the decoded value is.
        guard UTF8Check.isValid(base + start, p - start) else {
            throw failure(at: start, "value of label '\(printable(labelNameStart, labelNameEnd))' is not valid UTF-8")
        }
        return p + 1
    }

    private mutating func labels(
        _ start: Int,
        _ end: Int,
        nameStart: Int,
        nameEnd: Int,
        into labels: inout [MetricLabel]
    ) throws(ExpositionError) -> Int {
        var p = skipBlanks(start, end)
        while true {
            guard p < end else {
                throw failure(at: p, "label set of '\(printable(nameStart, nameEnd))' is not closed; expected '}'")
            }
            if base[p] == UInt8(ascii: "}") { return p + 1 }
            let labelNameStart = p
            guard isNameStart(base[p]) && base[p] != UInt8(ascii: ":") else {
                throw failure(at: p, "expected a label name or '}', found \(describeByte(p))")
            }
            p += 1
            while p < end && isNameContinue(base[p]) && base[p] != UInt8(ascii: ":") { p += 1 }
            let labelNameEnd = p
            p = skipBlanks(p, end)
            guard p < end && base[p] == UInt8(ascii: "=") else {
                throw failure(
                    at: p,
                    "expected '=' after label name '\(printable(labelNameStart, labelNameEnd))', found \(describeByte(p))"
                )
            }
            p = skipBlanks(p + 1, end)
            guard p < end && base[p] == quote else {
                throw failure(
                    at: p,
                    "expected '\"' to start the value of label '\(printable(labelNameStart, labelNameEnd))', found \(describeByte(p))"
                )
            }
            let (value, afterValue) = try labelValue(p, end, labelNameStart, labelNameEnd)
            guard let labelName = interner.string(base + labelNameStart, labelNameEnd - labelNameStart) else {
                throw failure(at: labelNameStart, "label name is not valid UTF-8")
            }
            for existing in labels where existing.name == labelName {
                throw failure(
                    at: labelNameStart,
                    "duplicate label '\(labelName)' in sample '\(printable(nameStart, nameEnd))'"
                )
            }
            labels.append(MetricLabel(name: labelName, value: value))
            p = skipBlanks(afterValue, end)
            guard p < end else {
                throw failure(at: p, "label set of '\(printable(nameStart, nameEnd))' is not closed; expected '}'")
            }
            if base[p] == UInt8(ascii: ",") {
                p = skipBlanks(p + 1, end)
            } else if base[p] != UInt8(ascii: "}") {
                throw failure(
                    at: p,
                    "expected ',' or '}' after the value of label '\(labelName)', found \(describeByte(p))"
                )
            }
        }
    }

    /// Reads a quoted label value starting at the opening quote; returns the value and the index after the closing quote.
    private mutating func labelValue(
        _ open: Int,
        _ end: Int,
        _ labelNameStart: Int,
        _ labelNameEnd: Int
    ) throws(ExpositionError) -> (String, Int) {
        let start = open + 1
        // Find the closing quote with memchr; the value is plain when no backslash comes before it.
        var p = end
        if start < end, let found = memchr(base + start, Int32(quote), end - start) {
            p = UnsafeRawPointer(found) - UnsafeRawPointer(base)
            if p > start, let escape = memchr(base + start, Int32(backslash), p - start) {
                p = UnsafeRawPointer(escape) - UnsafeRawPointer(base)
            }
        } else if start < end, let escape = memchr(base + start, Int32(backslash), end - start) {
            p = UnsafeRawPointer(escape) - UnsafeRawPointer(base)
        }
        if p < end && base[p] == quote {
            guard let value = interner.string(base + start, p - start) else {
                throw failure(
                    at: start,
                    "value of label '\(printable(labelNameStart, labelNameEnd))' is not valid UTF-8"
                )
            }
            return (value, p + 1)
        }
        escapeScratch.removeAll(keepingCapacity: true)
        escapeScratch.append(contentsOf: UnsafeBufferPointer(start: base + start, count: p - start))
        while p < end {
            let byte = base[p]
            if byte == quote { break }
            if byte == backslash {
                guard p + 1 < end else { break }
                switch base[p + 1] {
                case backslash: escapeScratch.append(backslash)
                case quote: escapeScratch.append(quote)
                case UInt8(ascii: "n"): escapeScratch.append(UInt8(ascii: "\n"))
                default:
                    throw failure(
                        at: p,
                        "invalid escape '\\\(describeRaw(p + 1))' in the value of label '\(printable(labelNameStart, labelNameEnd))'; only \\\\, \\\" and \\n are allowed"
                    )
                }
                p += 2
            } else {
                escapeScratch.append(byte)
                p += 1
            }
        }
        guard p < end else {
            throw failure(
                at: open,
                "value of label '\(printable(labelNameStart, labelNameEnd))' is not terminated; expected a closing '\"' before the end of the line"
            )
        }
        let decoded: String? = escapeScratch.withUnsafeBufferPointer { buffer in
            buffer.isEmpty ? "" : interner.string(buffer.baseAddress!, buffer.count)
        }
        guard let value = decoded else {
            throw failure(at: start, "value of label '\(printable(labelNameStart, labelNameEnd))' is not valid UTF-8")
        }
        return (value, p + 1)
    }

    private mutating func commitSample(
        _ position: Int,
        _ nameStart: Int,
        _ nameEnd: Int,
        labels: [MetricLabel],
        value: Double,
        timestamp: Int64?
    ) {
        let name: String
        if names.length(position) == nameEnd - nameStart {
            name = allFamilies[position].name
        } else {
            // Names are ASCII (checked by `metricName`), so interning cannot fail.
            name = interner.string(base + nameStart, nameEnd - nameStart) ?? ""
        }
        allFamilies[position].samples.append(
            MetricSample(name: name, labels: labels, value: value, timestamp: timestamp)
        )
    }

    // MARK: Families

    /// The family a sample name belongs to: the family of that exact name, else a declared family whose type owns the
    /// name's suffix (`foo_bucket` → histogram `foo`); `nil` when the sample starts a new untyped family of its name.
    private func findOwningFamily(_ nameStart: Int, _ nameEnd: Int) -> Int? {
        if current >= 0 && owns(current, nameStart, nameEnd) { return current }
        let length = nameEnd - nameStart
        if let exact = names.find(base + nameStart, length) { return exact }
        for (suffix, bytes) in Self.ownedSuffixes
        where length > bytes.count && memcmp(bytes, base + nameEnd - bytes.count, bytes.count) == 0 {
            if let parent = names.find(base + nameStart, length - bytes.count),
                allFamilies[parent].type.sampleSuffixes.contains(suffix)
            {
                return parent
            }
        }
        return nil
    }

    /// Every suffix a family type owns (``MetricType/sampleSuffixes``), once each, with its bytes.
    private static let ownedSuffixes = MetricType.allCases.flatMap(\.sampleSuffixes)
        .reduce(into: [String]()) { suffixes, suffix in if !suffixes.contains(suffix) { suffixes.append(suffix) } }
        .map { ($0, Array($0.utf8)) }

    private func owns(_ position: Int, _ nameStart: Int, _ nameEnd: Int) -> Bool {
        let length = nameEnd - nameStart
        guard names.isPrefix(position, of: base + nameStart, length) else { return false }
        let familyLength = names.length(position)
        if length == familyLength { return true }
        let suffix = UnsafeBufferPointer(start: base + nameStart + familyLength, count: length - familyLength)
        for owned in allFamilies[position].type.sampleSuffixes where owned.utf8.elementsEqual(suffix) { return true }
        return false
    }

    /// The family just read when it has exactly this name: `# TYPE` follows `# HELP` of the same family, and is known
    /// without making its name.
    private func currentFamily(named nameStart: Int, _ nameEnd: Int) -> Int? {
        guard current >= 0, names.matches(current, base + nameStart, nameEnd - nameStart) else { return nil }
        return current
    }

    /// The family with exactly this name, created (untyped, undeclared) when there is none yet. Every family name is
    /// remembered (to keep the one-TYPE and TYPE-before-samples rules), so their number and length are limited.
    private mutating func family(_ nameStart: Int, _ nameEnd: Int) throws(ExpositionError) -> Int {
        if let same = currentFamily(named: nameStart, nameEnd) { return same }
        if let existing = names.find(base + nameStart, nameEnd - nameStart) { return existing }
        return try addFamily(nameStart, nameEnd)
    }

    /// A new family called `name` (the bytes from `nameStart` to `nameEnd`), which no family has yet.
    private mutating func addFamily(_ nameStart: Int, _ nameEnd: Int) throws(ExpositionError) -> Int {
        if let limit = limits.maximumNameLength, nameEnd - nameStart > limit {
            throw failure(at: nameStart, "metric name '\(printable(nameStart, nameEnd))' is longer than \(limit) bytes")
        }
        if let limit = limits.maximumFamilies, allFamilies.count >= limit {
            throw failure(at: nameStart, "more than \(limit) metric families; the body is not EMQX's metrics")
        }
        let kept = isWanted(nameStart, nameEnd)
        let position = names.add(base + nameStart, nameEnd - nameStart)
        // Only a family that is built carries its name as a string.
        allFamilies.append(MetricFamily(name: kept ? names.name(position) : ""))
        typeDeclared.append(false)
        familyKept.append(kept)
        familyHasSamples.append(false)
        return position
    }

    // MARK: Tokens

    /// Reads a metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) and returns the index after it.
    private func metricName(_ start: Int, _ end: Int, what: String) throws(ExpositionError) -> Int {
        guard start < end else {
            throw failure(at: start, "expected a metric name in \(what), found the end of the line")
        }
        guard isNameStart(base[start]) else {
            throw failure(at: start, "expected a metric name in \(what), found \(describeByte(start))")
        }
        var p = start + 1
        while p < end && isNameContinue(base[p]) { p += 1 }
        return p
    }

    @inline(__always) private func isBlank(_ byte: UInt8) -> Bool { byte == space || byte == tab }

    @inline(__always) private func isNameStart(_ byte: UInt8) -> Bool {
        let lower = byte | 0x20
        return (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z")) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: ":")
    }

    @inline(__always) private func isNameContinue(_ byte: UInt8) -> Bool {
        isNameStart(byte) || (byte &- UInt8(ascii: "0")) <= 9
    }

    @inline(__always) private func skipBlanks(_ start: Int, _ end: Int) -> Int {
        var p = start
        while p < end && isBlank(base[p]) { p += 1 }
        return p
    }

    @inline(__always) private func tokenEnd(_ start: Int, _ end: Int) -> Int {
        var p = start
        while p < end && !isBlank(base[p]) { p += 1 }
        return p
    }

    /// Whether the bytes from `start` to `end` are exactly `name` (a non-empty run).
    private func matches(_ name: [UInt8], _ start: Int, _ end: Int) -> Bool {
        end > start && name.count == end - start
            && name.withUnsafeBufferPointer { memcmp($0.baseAddress!, base + start, end - start) == 0 }
    }

    /// The bytes from `start` to `end` as a string, invalid UTF-8 replaced (a metric name is ASCII by then; a type word
    /// that is not one is refused by name).
    private func text(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
    }

    /// The type a `# TYPE` line's word names (``MetricType/init(typeWord:)``), compared as bytes.
    private func metricType(_ start: Int, _ end: Int) -> MetricType? {
        let word = bytesEqual(start, end)
        return MetricType.typeWords.first { word($0.word) }?.type
    }

    private func bytesEqual(_ start: Int, _ end: Int) -> (StaticString) -> Bool {
        { word in
            word.utf8CodeUnitCount == end - start && memcmp(word.utf8Start, base + start, end - start) == 0
        }
    }

    // MARK: Errors

    private func failure(at index: Int, _ message: String) -> ExpositionError {
        ExpositionError(line: lineNumber, column: index - lineStart + 1, message: message)
    }

    /// The bytes as text for a message: at most 40 bytes, control and non-ASCII bytes as `\xNN`.
    private func printable(_ start: Int, _ end: Int) -> String {
        var text = ""
        let shown = min(end, start + 40)
        for k in start..<shown { text += describeRaw(k) }
        if end > shown { text += "… (\(end - start) bytes)" }
        return text
    }

    private func describeRaw(_ index: Int) -> String {
        let byte = base[index]
        if byte >= 0x20 && byte < 0x7F { return String(UnicodeScalar(byte)) }
        let hex = String(byte, radix: 16, uppercase: true)
        return "\\x" + (hex.count == 1 ? "0" + hex : hex)
    }

    /// The byte at `index` for a message, or "the end of the line".
    private func describeByte(_ index: Int) -> String {
        let lineEnd = lineEndIndex()
        guard index < lineEnd else { return "the end of the line" }
        return "'\(describeRaw(index))'"
    }

    private func lineEndIndex() -> Int {
        var p = lineStart
        while p < count && base[p] != UInt8(ascii: "\n") { p += 1 }
        if p > lineStart && base[p - 1] == UInt8(ascii: "\r") { p -= 1 }
        return p
    }
}
