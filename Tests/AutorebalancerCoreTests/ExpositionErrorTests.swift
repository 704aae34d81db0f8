import Testing

@testable import AutorebalancerCore

@Suite struct ExpositionErrorTests {
    struct BrokenInput: CustomTestStringConvertible, Sendable {
        let name: String
        let bytes: [UInt8]
        let line: Int
        let column: Int
        let messageContains: String
        var testDescription: String { name }

        init(_ name: String, _ text: String, _ line: Int, _ column: Int, _ messageContains: String) {
            self.init(name, Array(text.utf8), line, column, messageContains)
        }

        init(_ name: String, _ bytes: [UInt8], _ line: Int, _ column: Int, _ messageContains: String) {
            self.name = name
            self.bytes = bytes
            self.line = line
            self.column = column
            self.messageContains = messageContains
        }
    }

    static let corpus: [BrokenInput] = [
        BrokenInput("unterminated label value", "a 1\nfoo{node=\"emqx@x} 1\n", 2, 10, "not terminated"),
        BrokenInput("bad escape", #"foo{path="C:\q"} 1"#, 1, 13, #"invalid escape '\q'"#),
        BrokenInput("missing value", "# TYPE foo gauge\nfoo\n", 2, 4, "missing value for sample 'foo'"),
        BrokenInput("missing value after labels", "foo{a=\"b\"}\n", 1, 11, "missing value"),
        BrokenInput("duplicate label", #"foo{a="1",a="2"} 1"#, 1, 11, "duplicate label 'a'"),
        BrokenInput("value 1.2.3", "foo 1.2.3\n", 1, 5, "invalid value '1.2.3'"),
        BrokenInput("unknown type", "# TYPE foo gaug\n", 1, 12, "unknown metric type 'gaug'"),
        BrokenInput("TYPE without type", "# TYPE foo\n", 1, 11, "needs a type"),
        BrokenInput("second TYPE", "# TYPE foo gauge\n# TYPE foo counter\n", 2, 8, "second '# TYPE'"),
        BrokenInput("second HELP", "# HELP foo a\n# HELP foo b\n", 2, 8, "second '# HELP'"),
        BrokenInput("TYPE after samples", "foo 1\n# TYPE foo gauge\n", 2, 8, "comes after samples"),
        BrokenInput("content after EOF", "# EOF\nfoo 1\n", 2, 1, "after '# EOF'"),
        BrokenInput("fractional timestamp", "foo 1 12.5\n", 1, 7, "invalid timestamp '12.5'"),
        BrokenInput("text after timestamp", "foo 1 12 13\n", 1, 10, "unexpected text"),
        BrokenInput("label set not closed", "foo{a=\"1\" 1\n", 1, 11, "expected ',' or '}'"),
        BrokenInput("label without quotes", "foo{a=1} 1\n", 1, 7, "expected '\"'"),
        BrokenInput("bad metric name", "1foo 1\n", 1, 1, "expected a metric name"),
        BrokenInput("bad character in name", "foo-bar 1\n", 1, 4, "unexpected '-'"),
        BrokenInput(
            "invalid UTF-8 in label value",
            [UInt8]("foo{a=\"".utf8) + [0xFF] + [UInt8]("\"} 1\n".utf8),
            1,
            8,
            "not valid UTF-8"
        ),
        BrokenInput("NUL byte", [0x00, 0x41, 0x20, 0x31], 1, 1, #"found '\x00'"#),
        BrokenInput("HELP with a bad escape", #"# HELP foo a\tb"#, 1, 13, "invalid escape"),
        BrokenInput("error on a CRLF line", "a 1\r\nb x\r\n", 2, 3, "invalid value 'x'"),
    ]

    @Test(arguments: corpus)
    func strictModeReportsLineAndColumn(input: BrokenInput) {
        #expect {
            _ = try ExpositionParser().parse(input.bytes)
        } throws: { error in
            guard let error = error as? ExpositionError else { return false }
            return error.line == input.line && error.column == input.column
                && error.message.contains(input.messageContains)
                && error.description == "\(input.line):\(input.column): \(error.message)"
        }
    }

    @Test(arguments: corpus)
    func lenientModeSkipsAndReportsTheLine(input: BrokenInput) throws {
        let document = try ExpositionParser(mode: .lenient).parse(input.bytes)
        #expect(document.skipped.count == 1)
        #expect(document.skipped.first?.line == input.line)
        #expect(document.skipped.first?.column == input.column)
    }

    @Test func lenientModeKeepsEveryGoodLine() throws {
        let text = """
            # TYPE good gauge
            good{n="1"} 1
            good{n="2" 2
            good{n="3"} 3
            # TYPE other gaug
            broken 1.2.3
            good{n="4"} 4
            """
        let document = try ExpositionParser(mode: .lenient).parse(text)
        #expect(document.family(named: "good")?.samples.map(\.value) == [1, 3, 4])
        #expect(document.family(named: "other") == nil)
        #expect(document.family(named: "broken") == nil)
        #expect(document.skipped.map(\.line) == [3, 5, 6])
        #expect(document.sampleCount == 3)
        #expect(throws: ExpositionError.self) { try ExpositionParser().parse(text) }
    }

    @Test func tenMegabyteLines() {
        let longName = [UInt8](repeating: UInt8(ascii: "a"), count: 10_000_000)
        #expect {
            _ = try ExpositionParser().parse(longName)
        } throws: { error in
            (error as? ExpositionError).map {
                $0.line == 1 && $0.column == 10_000_001 && $0.message.contains("10000000 bytes")
            } ?? false
        }
        let longValue = [UInt8]("foo{a=\"".utf8) + [UInt8](repeating: UInt8(ascii: "v"), count: 10_000_000)
        #expect {
            _ = try ExpositionParser().parse(longValue)
        } throws: { error in
            (error as? ExpositionError).map { $0.line == 1 && $0.column == 7 } ?? false
        }
        // A well-formed 10 MB label value is data, not an error.
        let goodValue =
            [UInt8]("foo{a=\"".utf8) + [UInt8](repeating: UInt8(ascii: "v"), count: 10_000_000)
            + [UInt8]("\"} 1\n".utf8)
        let document = try? ExpositionParser().parse(goodValue)
        #expect(document?.family(named: "foo")?.samples.first?.label("a")?.utf8.count == 10_000_000)
    }

    @Test func randomBytesNeverCrashAndAreNeverSilentlyDropped() throws {
        var generator = SplitMix64(seed: 42)
        let alphabet = Array("ab_:{}=\",.# \n\\\r\t0123456789eE+-NaInf".utf8) + [0x00, 0xC3, 0xFF]
        for round in 0..<2_000 {
            let length = Int.random(in: 0...200, using: &generator)
            let bytes: [UInt8] = (0..<length).map { _ in
                round.isMultiple(of: 2)
                    ? alphabet.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
            }
            let lenient = try ExpositionParser(mode: .lenient).parse(bytes)
            let nonBlankLines = bytes.split(separator: UInt8(ascii: "\n")).filter { line in
                let content = line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...]
                return content.contains { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
            }.count
            // Every non-blank line is a sample, a header/comment, or a reported skip.
            #expect(lenient.sampleCount + lenient.skipped.count <= nonBlankLines)
            do {
                let strict = try ExpositionParser().parse(bytes)
                #expect(lenient.skipped.isEmpty)
                #expect(strict == lenient)
            } catch {
                #expect(lenient.skipped.first == error)
            }
        }
    }
}
