import Foundation
import Testing

@testable import AutorebalancerCore

/// Reading a body as it streams in, building only the families asked for, while every line is still checked.
struct ExpositionStreamTests {
    static func streamed(
        _ bytes: [UInt8],
        chunk: Int,
        parser: ExpositionParser = ExpositionParser()
    ) throws -> ExpositionDocument {
        var stream = parser.stream()
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunk)
            try Array(bytes[start..<end]).withUnsafeBytes { raw in try stream.feed(raw) }
            start = end
        }
        return try stream.finish()
    }

    static let body = Array(
        (ExpositionSamples.lines.filter { $0 != "# EOF" }.joined(separator: "\n") + "last_without_newline 7").utf8
    )

    /// Any chunking gives exactly the document of a whole-body parse, errors included (same line and column).
    @Test(arguments: [1, 2, 3, 7, 64, 4096])
    func chunkingDoesNotChangeTheResult(chunk: Int) throws {
        #expect(try Self.streamed(Self.body, chunk: chunk) == ExpositionParser().parse(Self.body))
        let broken = Array("# TYPE a gauge\r\na 1\r\na{x=\"1\" 2\r\n".utf8)
        let whole = #expect(throws: ExpositionError.self) { try ExpositionParser().parse(broken) }
        let pieces = #expect(throws: ExpositionError.self) { try Self.streamed(broken, chunk: chunk) }
        #expect(whole == pieces)
        let lenient = ExpositionParser(mode: .lenient)
        #expect(try Self.streamed(broken, chunk: chunk, parser: lenient) == lenient.parse(broken))
    }

    @Test func onlyTheWantedFamiliesAreBuiltButEveryLineIsChecked() throws {
        let text = """
            # TYPE emqx_live_connections_count gauge
            # HELP emqx_live_connections_count live
            emqx_live_connections_count 3333
            # TYPE other_total counter
            # HELP other_total a long help text that is not kept
            other_total{a="1",b="2"} 5
            other_total{a="2",b="\\\\"} 6

            """
        let parser = ExpositionParser(families: [EMQXExposition.liveConnectionsMetric])
        let document = try parser.parse(text)
        #expect(document.family(named: "emqx_live_connections_count")?.samples.map(\.value) == [3333])
        #expect(document.family(named: "emqx_live_connections_count")?.help == "live")
        // A family not built is read to the same rules and left out of the document.
        #expect(document.family(named: "other_total") == nil)
        #expect(document.families.map(\.name) == ["emqx_live_connections_count"])
        // Syntax in a family that is not built still fails the whole body, at the same position as a full parse.
        for broken in [
            "other_total{a=\"1\",a=\"2\"} 5\n", "other_total{a=\"\\q\"} 5\n", "other_total{a=\"1\"} five\n",
            "# TYPE x gauge\n# TYPE x gauge\n",
            "x 1\n# TYPE x gauge\n", "<!DOCTYPE html>\n",
        ] {
            let full = #expect(throws: ExpositionError.self) { try ExpositionParser().parse(broken) }
            let filtered = #expect(throws: ExpositionError.self) { try parser.parse(broken) }
            #expect(full == filtered, "\(broken)")
        }
        let invalidUTF8: [UInt8] = Array("other_total{a=\"".utf8) + [0xC3, 0x28] + Array("\"} 5\n".utf8)
        let full = #expect(throws: ExpositionError.self) { try ExpositionParser().parse(invalidUTF8) }
        let filtered = #expect(throws: ExpositionError.self) { try parser.parse(invalidUTF8) }
        #expect(full == filtered)
        #expect(full?.message.contains("not valid UTF-8") == true)
    }

    @Test func limitsBoundWhatOneBodyCanMakeTheParserHold() {
        let limits = ExpositionParser.Limits(
            maximumLineLength: 100,
            maximumFamilies: 3,
            maximumNameLength: 20,
            maximumKeptSamples: 2
        )
        let parser = ExpositionParser(families: ["a"], limits: limits)
        let longLine = "a{x=\"" + String(repeating: "v", count: 200) + "\"} 1\n"
        for chunk in [1, 16, 4096] {
            let error = #expect(throws: ExpositionError.self) {
                try Self.streamed(Array(longLine.utf8), chunk: chunk, parser: parser)
            }
            #expect(error?.line == 1)
            #expect(error?.message.contains("longer than") == true, "\(String(describing: error))")
        }
        let families = #expect(throws: ExpositionError.self) { try parser.parse("b 1\nc 1\nd 1\ne 1\n") }
        #expect(families?.message.contains("more than 3 metric families") == true)
        #expect(families?.line == 4)
        let name = #expect(throws: ExpositionError.self) {
            try parser.parse(String(repeating: "n", count: 21) + " 1\n")
        }
        #expect(name?.message.contains("longer than 20 bytes") == true)
        let kept = #expect(throws: ExpositionError.self) { try parser.parse("a 1\na 2\na 3\n") }
        #expect(kept?.message.contains("more than 2 samples") == true)
        // Samples of families not built do not count towards the kept limit.
        #expect(throws: Never.self) { try parser.parse("a 1\nb 1\nb 2\nb 3\na 2\n") }
    }

    @Test func aHugeBodyOfOtherFamiliesKeepsNothing() throws {
        var stream = ExpositionParser(families: [EMQXExposition.liveConnectionsMetric], limits: .scrape).stream()
        let line = Array("emqx_messages_received{node=\"emqx@a\",listener=\"tcp:default\"} 12345 1795168800000\n".utf8)
        let chunk = Array(repeating: line, count: 1_000).flatMap { $0 }
        for _ in 0..<100 { try chunk.withUnsafeBytes { raw in try stream.feed(raw) } }
        try Array("emqx_live_connections_count 10\n".utf8).withUnsafeBytes { raw in try stream.feed(raw) }
        let document = try stream.finish()
        #expect(stream.byteCount > 8_000_000)
        #expect(document.sampleCount == 1)
        #expect(document.families.map(\.name) == [EMQXExposition.liveConnectionsMetric])
    }
}
