import Testing

@testable import AutorebalancerCore

/// Golden parses of the EMQX scrapes in ../shared/fixtures/emqx (counts from an independent parser, Python's
/// `prometheus_client`, recorded in that folder's SOURCE.md).
@Suite(.enabled(if: SharedFixtures.available, SharedFixtures.skipReason))
struct ExpositionFixtureTests {
    struct Golden: Sendable, CustomTestStringConvertible {
        let file: String
        let families: Int
        let samples: Int
        var testDescription: String { file }
    }

    static let goldens = [
        Golden(file: "emqx/emqx5-node-stats.prom", families: 138, samples: 182),
        Golden(file: "emqx/emqx5-cluster-unaggregated-stats.prom", families: 138, samples: 524),
        Golden(file: "emqx/emqx44-node-stats.prom", families: 143, samples: 150),
    ]

    @Test(arguments: goldens)
    func countsMatchAnIndependentParser(golden: Golden) throws {
        let bytes = try SharedFixtures.bytes(golden.file)
        let document = try ExpositionParser().parse(bytes)
        #expect(document.families.count == golden.families)
        #expect(document.sampleCount == golden.samples)
        #expect(document.skipped.isEmpty)
        // Every sample in these files follows a `# TYPE` line: families are exactly the declared ones, with their types.
        let declared = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix("# TYPE ") }
            .map { $0.split(separator: " ").dropFirst(2).joined(separator: " ") }
        #expect(document.families.map { "\($0.name) \($0.type.rawValue)" } == declared)
    }

    @Test(arguments: goldens)
    func withoutHelpLinesTheSamplesAreTheSame(golden: Golden) throws {
        let bytes = try SharedFixtures.bytes(golden.file)
        let withoutHelp = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .filter { !$0.starts(with: "# HELP ".utf8) }
            .joined(separator: [UInt8(ascii: "\n")])
        let full = try ExpositionParser().parse(bytes)
        let stripped = try ExpositionParser().parse(Array(withoutHelp))
        #expect(stripped.families.map(\.name) == full.families.map(\.name))
        #expect(stripped.families.map(\.type) == full.families.map(\.type))
        #expect(stripped.families.map(\.samples) == full.families.map(\.samples))
        #expect(stripped.families.allSatisfy { $0.help == nil })
    }

    @Test func emqx5NodeModeShapes() throws {
        let document = try ExpositionParser().parse(try SharedFixtures.bytes("emqx/emqx5-node-stats.prom"))
        let connections = try #require(document.family(named: "emqx_connections_count"))
        #expect(connections.type == .gauge)
        #expect(connections.help == "")
        #expect(connections.samples == [MetricSample(name: "emqx_connections_count", value: 49870)])
        let lag = try #require(document.family(named: "emqx_mria_lag"))
        #expect(lag.samples.isEmpty)
        let connected = try #require(document.family(named: "emqx_client_connected"))
        #expect(connected.type == .counter)
        #expect(connected.samples.first?.value == 1_284_330)
        let reasons = try #require(document.family(named: "emqx_client_disconnected_reason"))
        #expect(reasons.samples.contains { $0.label("listener_type") == "tcp" && $0.label("reason") == "tcp_closed" })
    }

    @Test func emqx5UnaggregatedNodeLabels() throws {
        let document = try ExpositionParser().parse(
            try SharedFixtures.bytes("emqx/emqx5-cluster-unaggregated-stats.prom")
        )
        let live = try #require(document.family(named: "emqx_live_connections_count"))
        #expect(live.samples.map { $0.label("node") } == ["emqx@10.0.1.13", "emqx@10.0.1.12", "emqx@10.0.1.11"])
        #expect(live.samples.map(\.value) == [3120, 46877, 48213])
        #expect(document.family(named: "emqx_cluster_sessions_count")?.samples.first?.labels == [])
    }

    @Test func emqx44SeventeenDigitFloat() throws {
        let document = try ExpositionParser().parse(try SharedFixtures.bytes("emqx/emqx44-node-stats.prom"))
        #expect(document.family(named: "emqx_vm_cpu_use")?.samples.first?.value == 28.615384615384613)
        #expect(document.families.allSatisfy { $0.help == nil })
        let memory = try #require(document.family(named: "erlang_vm_memory_bytes_total"))
        #expect(memory.samples.allSatisfy { $0.label("kind") != nil })
    }
}
