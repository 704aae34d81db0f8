import Foundation
import Testing
@testable import Simulation

enum Promtool {
    /// `PROMTOOL` or `promtool` on PATH.
    static let path: String? = {
        if let explicit = ProcessInfo.processInfo.environment["PROMTOOL"], !explicit.isEmpty,
           FileManager.default.isExecutableFile(atPath: explicit) { return explicit }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/promtool"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    /// Runs `promtool check metrics` on `text`: exit 0 is clean, 3 means lint remarks only (EMQX's names and empty
    /// HELP draw them), 1 means the text does not parse.
    static func check(_ text: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path!)
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

@Suite(.enabled(if: Promtool.path != nil, "promtool not found: set PROMTOOL or install Debian's prometheus package (scripts/test does)"))
struct EMQXPromtoolTests {
    @Test(arguments: EMQXStatsMode.allCases)
    func emqx5TextPassesPromtool(mode: EMQXStatsMode) async throws {
        let cluster = SimulatedEMQXCluster(configuration: emqx5Configuration([1200, 800, 0]))
        try cluster.apply(.scaleOut(count: 1, role: .replicant))
        cluster.advance(by: .seconds(5))
        try await cluster.serving { () async throws in
            let text = try await SimHTTP.send(cluster.url(0), "/api/v5/prometheus/stats?mode=\(mode.rawValue)").body
            let result = try Promtool.check(text)
            #expect(result.status == 0 || result.status == 3, "promtool: \(result.output)")
            #expect(!result.output.contains("error while linting"), "promtool: \(result.output)")
        }
    }

    @Test func emqx44TextPassesPromtool() async throws {
        let cluster = SimulatedEMQXCluster.seedScenario()
        try await cluster.serving { () async throws in
            let text = try await SimHTTP.send(cluster.url(0), "/api/v4/emqx_prometheus?type=prometheus").body
            let result = try Promtool.check(text)
            #expect(result.status == 0 || result.status == 3, "promtool: \(result.output)")
            #expect(!result.output.contains("error while linting"), "promtool: \(result.output)")
        }
    }

    @Test func promtoolRejectsBrokenText() throws {
        // Guards the check itself: a torn label set must fail.
        let result = try Promtool.check("# TYPE a gauge\na{x=\"1\" 2\n")
        #expect(result.status == 1)
    }
}
