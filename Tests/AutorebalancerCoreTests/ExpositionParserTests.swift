import Testing

@testable import AutorebalancerCore

/// A small exposition written for these tests, covering every shape the parser must read.
enum ExpositionSamples {
    static let lines: [String] = [
        "# HELP emqx_connections_count ",  // EMQX 5: empty HELP with a trailing space, before TYPE
        "# TYPE emqx_connections_count gauge",
        "emqx_connections_count 49870",
        "# TYPE emqx_live_connections_count gauge",
        "# HELP emqx_live_connections_count Live connections \\\\ with \\n escapes",
        #"emqx_live_connections_count{node="emqx@10.0.1.11"} 48213 1700000000000"#,
        "# TYPE emqx_mria_lag gauge",  // a header with no samples
        "# HELP emqx_mria_lag ",
        "# TYPE rpc_duration_seconds summary",
        #"rpc_duration_seconds{quantile="0.5"} 4773"#,
        "rpc_duration_seconds_sum 1.7560473e+07",
        "rpc_duration_seconds_count 2693",
        "# TYPE http_request_duration_seconds histogram",
        #"http_request_duration_seconds_bucket{le="0.05"} 24054"#,
        #"http_request_duration_seconds_bucket{le="+Inf"} 144320"#,
        "http_request_duration_seconds_sum 53423",
        "http_request_duration_seconds_count 144320",
        "# TYPE emqx_packets_connect counter",  // a counter without _total
        "emqx_packets_connect 1290",
        "# TYPE requests counter",  // OpenMetrics counter parts
        "requests_total 10",
        "requests_created 1.7e9",
        "# a plain comment",
        #"msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9"#,
        #"odd_values{kind="nan"} NaN"#,
        #"odd_values{kind="pinf"} +Inf"#,
        #"odd_values{kind="ninf"} -Inf"#,
        #"odd_values{kind="exp"} -1.5e-3"#,
        #"odd_values{ kind = "17" , } 28.615384615384613"#,
        "untyped_metric\t7  ",
        "",
        "# EOF",
        "",
    ]

    static let text = lines.joined(separator: "\n")
}

@Suite struct ExpositionParserTests {
    let document: ExpositionDocument

    init() throws {
        document = try ExpositionParser().parse(ExpositionSamples.text)
    }

    @Test func familiesInOrderWithTheirTypes() {
        #expect(
            document.families.map(\.name) == [
                "emqx_connections_count", "emqx_live_connections_count", "emqx_mria_lag", "rpc_duration_seconds",
                "http_request_duration_seconds", "emqx_packets_connect", "requests", "msdos_file_access_time_seconds",
                "odd_values", "untyped_metric",
            ]
        )
        #expect(
            document.families.map(\.type) == [
                .gauge, .gauge, .gauge, .summary, .histogram, .counter, .counter, .untyped, .untyped, .untyped,
            ]
        )
        #expect(document.families.map(\.samples.count) == [1, 1, 0, 3, 4, 1, 2, 1, 5, 1])
        #expect(document.sampleCount == 19)
        #expect(document.skipped.isEmpty)
    }

    /// Every name of a body is remembered, built or not, however many there are: a second `# TYPE` of any of them is
    /// refused by name, and names that share a prefix stay apart.
    @Test func everyFamilyNameIsRememberedAmongThousands() throws {
        let names = (0..<3_000).map { "f\($0)" }
        let body = names.map { "# TYPE \($0) counter\n\($0)_total 1\n" }.joined()
        for parser in [ExpositionParser(), ExpositionParser(families: ["f17"])] {
            let document = try parser.parse(body)
            #expect(document.sampleCount == (parser.families == nil ? 3_000 : 1))
            for repeated in ["f0", "f1777", "f2999"] {
                let error = #expect(throws: ExpositionError.self) {
                    try parser.parse(body + "# TYPE \(repeated) gauge\n")
                }
                #expect(error?.message == "second '# TYPE' line for metric family '\(repeated)'")
                #expect(error?.line == 6_001)
            }
        }
    }

    /// Every type word reads as its type, in a family built or only checked; a word in another case is refused.
    @Test func everyTypeWordNamesItsType() throws {
        let words = MetricType.allCases.map { ($0.rawValue, $0) } + [("unknown", .untyped)]
        for (word, type) in words {
            #expect(MetricType(typeWord: word) == type)
            for parser in [ExpositionParser(), ExpositionParser(families: ["x"])] {
                let parsed = try parser.parse("# TYPE x \(word)\n")
                #expect(parsed.family(named: "x")?.type == type, "\(word)")
            }
            // A family only checked reads the same words, and is left out of the document.
            #expect(try ExpositionParser(families: ["other"]).parse("# TYPE x \(word)\n").families.isEmpty)
            #expect(MetricType(typeWord: word.uppercased()) == nil)
            #expect(throws: ExpositionError.self) { try ExpositionParser().parse("# TYPE x \(word.uppercased())\n") }
        }
        #expect(throws: ExpositionError.self) { try ExpositionParser().parse("# TYPE x gauges\n") }
        #expect(throws: ExpositionError.self) { try ExpositionParser().parse("# TYPE x gaug\n") }
    }

    @Test func gaugeNamedCountStaysAGauge() throws {
        let family = try #require(document.family(named: "emqx_connections_count"))
        #expect(family.type == .gauge)
        #expect(family.samples == [MetricSample(name: "emqx_connections_count", value: 49870)])
    }

    @Test func helpTextEmptyEscapedOrAbsent() {
        #expect(document.family(named: "emqx_connections_count")?.help == "")
        #expect(document.family(named: "emqx_live_connections_count")?.help == "Live connections \\ with \n escapes")
        #expect(document.family(named: "emqx_mria_lag")?.help == "")
        #expect(document.family(named: "rpc_duration_seconds")?.help == nil)
        #expect(document.family(named: "no_such_family") == nil)
    }

    @Test func labelsAndTimestamp() throws {
        let sample = try #require(document.family(named: "emqx_live_connections_count")?.samples.first)
        #expect(sample.labels == [MetricLabel(name: "node", value: "emqx@10.0.1.11")])
        #expect(sample.label("node") == "emqx@10.0.1.11")
        #expect(sample.label("absent") == nil)
        #expect(sample.value == 48213)
        #expect(sample.timestamp == 1_700_000_000_000)
    }

    @Test func summaryAndHistogramPartsJoinTheirFamily() throws {
        let summary = try #require(document.family(named: "rpc_duration_seconds"))
        #expect(
            summary.samples.map(\.name) == [
                "rpc_duration_seconds", "rpc_duration_seconds_sum", "rpc_duration_seconds_count",
            ]
        )
        #expect(summary.samples[1].value == 17_560_473)
        let histogram = try #require(document.family(named: "http_request_duration_seconds"))
        #expect(histogram.samples.map { $0.label("le") } == ["0.05", "+Inf", nil, nil])
        let counter = try #require(document.family(named: "requests"))
        #expect(counter.samples.map(\.name) == ["requests_total", "requests_created"])
        #expect(counter.samples[1].value == 1.7e9)
    }

    @Test func escapedLabelValues() throws {
        let sample = try #require(document.family(named: "msdos_file_access_time_seconds")?.samples.first)
        #expect(sample.label("path") == #"C:\DIR\FILE.TXT"#)
        #expect(sample.label("error") == "Cannot find file:\n\"FILE.TXT\"")
        #expect(sample.value == 1.458255915e9)
    }

    @Test func specialAndExponentValues() throws {
        let values = try #require(document.family(named: "odd_values")).samples
        #expect(values[0].value.isNaN)
        #expect(values[1].value == .infinity)
        #expect(values[2].value == -.infinity)
        #expect(values[3].value == -0.0015)
        #expect(values[4].value == 28.615384615384613)
        #expect(values[4].labels == [MetricLabel(name: "kind", value: "17")])
        #expect(document.family(named: "untyped_metric")?.samples.first?.value == 7)
    }

    @Test func crlfLineEndsParseTheSame() throws {
        let crlf = try ExpositionParser().parse(ExpositionSamples.lines.joined(separator: "\r\n"))
        #expect(crlf == document)
    }

    @Test func bytesAndTextEntryPointsAgree() throws {
        let fromBytes = try ExpositionParser().parse(Array(ExpositionSamples.text.utf8))
        let fromRaw = try Array(ExpositionSamples.text.utf8).withUnsafeBytes { raw throws(ExpositionError) in
            try ExpositionParser().parse(raw)
        }
        #expect(fromBytes == document)
        #expect(fromRaw == document)
    }

    @Test func typeBeforeOrAfterHelpAndWithoutHelp() throws {
        let orders = [
            "# HELP m help\n# TYPE m gauge\nm 1\n",
            "# TYPE m gauge\n# HELP m help\nm 1\n",
        ]
        for text in orders {
            let family = try #require(try ExpositionParser().parse(text).family(named: "m"))
            #expect(family.type == .gauge)
            #expect(family.help == "help")
            #expect(family.samples.count == 1)
        }
        let noHelp = try ExpositionParser().parse("# TYPE m counter\nm 1\n")
        #expect(
            noHelp.families == [MetricFamily(name: "m", type: .counter, samples: [MetricSample(name: "m", value: 1)])]
        )
    }

    @Test func undeclaredSuffixedSamplesAreTheirOwnFamily() throws {
        // `m_count` next to gauge `m` is not part of it; with no TYPE it is its own untyped family.
        let document = try ExpositionParser().parse("# TYPE m gauge\nm 1\nm_count 2\nm_sum 3\n")
        #expect(document.families.map(\.name) == ["m", "m_count", "m_sum"])
        #expect(document.families.map(\.type) == [.gauge, .untyped, .untyped])
    }

    @Test func samplesOfAFamilyNeedNotBeAdjacent() throws {
        let document = try ExpositionParser().parse("# TYPE a counter\n# TYPE b gauge\nb 1\na 2\nb 3\n")
        #expect(document.family(named: "a")?.samples.map(\.value) == [2])
        #expect(document.family(named: "b")?.samples.map(\.value) == [1, 3])
    }

    @Test func openMetricsUnknownTypeAndExemplar() throws {
        let document = try ExpositionParser().parse(
            "# TYPE a unknown\na 1\n# TYPE c counter\n# UNIT c seconds\nc_total 5 # {trace_id=\"x\"} 1\n# EOF\n"
        )
        #expect(document.family(named: "a")?.type == .untyped)
        #expect(document.family(named: "c")?.samples == [MetricSample(name: "c_total", value: 5)])
    }

    @Test func emptyInputsGiveEmptyDocuments() throws {
        for text in ["", "\n", "\n\n\r\n", "# just a comment\n", "# EOF\n"] {
            let document = try ExpositionParser().parse(text)
            #expect(document.families.isEmpty)
            #expect(document.sampleCount == 0)
        }
    }

    @Test(arguments: [
        "0", "-0", "1", "12", "49870", "9007199254740993", "18446744073709551615", "123456789012345678901234",
        "0.1", "0.25", "1.5", "-1.5e-3", "1.7560473e+07", "1.458255915e9", "28.615384615384613",
        "0.30000000000000004", "2.2250738585072014e-308", "4.9e-324", "1.7976931348623157e308", "1e309", "1e-400",
        ".5", "5.", "+3", "1E5", "000123.4500", "3.14159265358979323846264338327950288",
    ])
    func valuesReadExactlyAsTheStandardLibraryDoes(text: String) throws {
        let expected = try #require(Double(text))
        let parsed = try #require(
            Array(text.utf8).withUnsafeBufferPointer {
                ExpositionNumber.parseValue($0.baseAddress!, $0.count)
            }
        )
        #expect(parsed.bitPattern == expected.bitPattern, "\(text): \(parsed) != \(expected)")
    }

    @Test func randomDecimalsReadExactlyAsTheStandardLibraryDoes() {
        var generator = SplitMix64(seed: 0x5EED)
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            let integerDigits = Int.random(in: 0...12, using: &generator)
            let fractionDigits = Int.random(in: 0...10, using: &generator)
            var text = Bool.random(using: &generator) ? "-" : ""
            text += (0..<max(integerDigits, 1)).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
            if fractionDigits > 0 {
                text +=
                    "." + (0..<fractionDigits).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
            }
            if Int.random(in: 0..<4, using: &generator) == 0 {
                text += "e\(Int.random(in: -30...30, using: &generator))"
            }
            let expected = Double(text)!
            let parsed = Array(text.utf8).withUnsafeBufferPointer {
                ExpositionNumber.parseValue($0.baseAddress!, $0.count)
            }
            if parsed?.bitPattern != expected.bitPattern { mismatches.append(text) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }

    @Test(arguments: ["NaN", "nan", "+Inf", "-Inf", "Inf", "inf", "+inf", "-infinity", "Infinity"])
    func specialValueSpellings(text: String) throws {
        let parsed = try #require(
            Array(text.utf8).withUnsafeBufferPointer {
                ExpositionNumber.parseValue($0.baseAddress!, $0.count)
            }
        )
        if text.lowercased().contains("nan") {
            #expect(parsed.isNaN)
        } else {
            #expect(parsed == (text.hasPrefix("-") ? -.infinity : .infinity))
        }
    }

    @Test(arguments: ["", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "0x10", "1_000", "--1", "NaNa", "Infinit", "1,5"])
    func invalidValuesAreRejected(text: String) {
        let parsed = Array(text.utf8).withUnsafeBufferPointer { buffer in
            buffer.baseAddress.flatMap { ExpositionNumber.parseValue($0, buffer.count) }
        }
        #expect(parsed == nil)
    }
}

/// A small deterministic generator so random tests repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
