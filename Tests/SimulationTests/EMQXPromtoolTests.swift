import Foundation
import TestSupport
import Testing

@testable import Simulation

enum Promtool {
    /// Runs `promtool check metrics` on `text`: exit 0 is clean, 3 means lint remarks only (EMQX's names and empty
    /// HELP draw them), 1 means the text does not parse.
    static func check(_ text: String) async throws -> (status: Int32, output: String) {
        let result = try await ChildProcess.run(Executables.promtool!, ["check", "metrics"], input: text)
        return (result.status, result.output)
    }
}

@Suite(
    .enabled(
        if: Executables.promtool != nil,
        "promtool not found: set PROMTOOL or install Debian's prometheus package (scripts/test does)"
    )
)
struct EMQXPromtoolTests {
    @Test(arguments: EMQXStatsMode.allCases)
    func emqx5TextPassesPromtool(mode: EMQXStatsMode) async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([1200, 800, 0]))
        try cluster.apply(.scaleOut(count: 1, role: .replicant))
        cluster.advance(by: .seconds(5))
        try await cluster.serving { () async throws in
            let text = try await SimHTTP.send(cluster.url(0), "/api/v5/prometheus/stats?mode=\(mode.rawValue)").body
            let result = try await Promtool.check(text)
            #expect(result.status == 0 || result.status == 3, "promtool: \(result.output)")
            #expect(!result.output.contains("error while linting"), "promtool: \(result.output)")
        }
    }

    @Test func emqx44TextPassesPromtool() async throws {
        let cluster = SimulatedEMQXCluster.seedScenario()
        try await cluster.serving { () async throws in
            let text = try await SimHTTP.send(cluster.url(0), "/api/v4/emqx_prometheus?type=prometheus").body
            let result = try await Promtool.check(text)
            #expect(result.status == 0 || result.status == 3, "promtool: \(result.output)")
            #expect(!result.output.contains("error while linting"), "promtool: \(result.output)")
        }
    }

    @Test func promtoolRejectsBrokenText() async throws {
        // Guards the check itself: a torn label set must fail.
        let result = try await Promtool.check("# TYPE a gauge\na{x=\"1\" 2\n")
        #expect(result.status == 1)
    }
}
