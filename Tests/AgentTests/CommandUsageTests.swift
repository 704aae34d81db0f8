import Demo
import Foundation
import Testing

@testable import Agent

/// Usage errors of `backtest` are found before any file is read or any query sent (exit 2, naming what to fix), and
/// `test --format json` reports what the text reports, as one JSON object.
@Suite(
    .enabled(if: CommandLineBinary.url != nil, "the emqx-autorebalancer binary was not found; run `swift build` first")
)
struct CommandUsageTests {
    /// The policy file does not exist: had the command read it first, it would exit 1 ("cannot read the policy file").
    static let absentPolicy = "/nonexistent/policy.yaml"

    @Test(arguments: [
        (
            ["--prometheus", "not a url", "--cluster", "emqx/emqx-ee", "--start", "now-1h", "--step", "1m"],
            "--prometheus not a url: expected the Prometheus server's base URL"
        ),
        (
            ["--prometheus", "127.0.0.1:9090", "--cluster", "emqx/emqx-ee", "--start", "now-1h", "--step", "1m"],
            "http:// or https:// and a host"
        ),
        (
            ["--prometheus", "http://127.0.0.1:9", "--start", "now-1h", "--step", "1m"],
            "--prometheus needs --cluster <namespace/name>"
        ),
        (
            [
                "--prometheus", "http://127.0.0.1:9", "--cluster", "emqx/emqx-ee", "--start", "yesterday", "--step",
                "1m",
            ],
            "--start yesterday: expected RFC 3339"
        ),
        (
            ["--prometheus", "http://127.0.0.1:9", "--cluster", "emqx/emqx-ee", "--start", "now-1h"],
            "needs --step <duration>"
        ),
        (["--connections", "c.json", "--plot", "chart.png"], "name the file .svg or .html"),
        (["--connections", "c.json", "--plot", "/nonexistent/chart.svg"], "the folder /nonexistent does not exist"),
        (["--connections", "c.json", "--start", "now-1h"], "--start only applies with --prometheus or --config"),
        (["--connections", "c.json", "--prometheus", "http://127.0.0.1:9"], "not both"),
        (["--connections", "c.json", "--cluster", "emqx"], "--cluster emqx: expected <namespace/name>"),
        (["--connections", "c.json", "--step", "0s"], "--step 0s: expected a positive duration"),
        ([], "give --connections <file>"),
    ])
    func backtestUsageErrorsExitTwoBeforeAnythingIsRead(_ arguments: [String], _ message: String) async throws {
        let result = try await CommandLineBinary.run(["backtest", "--policy", Self.absentPolicy] + arguments)
        #expect(result.status == 2, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
        #expect(
            !result.stderr.contains("cannot read the policy file"),
            "the policy was read before the options were checked"
        )
        #expect(
            result.stderr.contains("backtest --policy <file> --prometheus <url>"),
            "no usage line in: \(result.stderr)"
        )
        #expect(!result.stderr.contains("HTTPClientError"), "a Swift type in: \(result.stderr)")
    }

    @Test func backtestWithoutAPolicyIsAUsageError() async throws {
        let result = try await CommandLineBinary.run(["backtest", "--connections", "c.json"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("give --policy <file>"), "stderr: \(result.stderr)")
    }

    @Test func testFormatJSONReportsPassesFailuresAndTheirLocations() async throws {
        let directory = try CommandLineBinary.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(DemoPolicy.text.utf8).write(to: directory.appendingPathComponent("demo.yaml"))
        let series = """
                series:
                  - {node: emqx-ee-0, connections: 3333x12}
                  - {node: emqx-ee-1, connections: 3333x12}
                  - {node: emqx-ee-2, connections: 3334x12}
                  - {node: emqx-ee-3, connections: 0x12}
            """
        let testFile = directory.appendingPathComponent("demo.test.yaml")
        try Data(
            """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: PolicyTest
            policies: [demo.yaml]
            tests:
              - name: fires after for
                cluster: default/emqx-ee
            \(series)
                expect:
                  - at: 20s
                    decisions: [{rule: skew, action: rebalance}]
              - name: expected too early
                cluster: default/emqx-ee
            \(series)
                expect:
                  - at: 10s
                    decisions: [{rule: skew, action: rebalance}]

            """.utf8
        ).write(to: testFile)

        let json = try await CommandLineBinary.run(["test", "--format", "json", testFile.path])
        #expect(json.status == 1, "stderr: \(json.stderr)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any],
            "not one JSON object: \(json.stdout)"
        )
        #expect(report["passed"] as? Int == 1)
        #expect(report["failed"] as? Int == 1)
        let file = try #require((report["files"] as? [[String: Any]])?.first)
        #expect(file["file"] as? String == testFile.path)
        let tests = try #require(file["tests"] as? [[String: Any]])
        #expect(tests.map { $0["name"] as? String } == ["fires after for", "expected too early"])
        #expect(tests.map { $0["passed"] as? Bool } == [true, false])
        let failure = try #require((tests[1]["failures"] as? [[String: Any]])?.first)
        #expect(failure["at"] as? String == "10s")
        #expect(failure["line"] as? Int == 23, "the failing expectation's line: \(failure)")
        #expect((failure["lines"] as? [String])?.isEmpty == false)

        // The text output says the same.
        let text = try await CommandLineBinary.run(["test", testFile.path])
        #expect(text.status == 1)
        #expect(text.stdout.contains("ok   \(testFile.path): fires after for"))
        #expect(text.stdout.contains("FAIL \(testFile.path): expected too early"))
        #expect(text.stdout.contains("\(testFile.path):23:"))
        #expect(text.stdout.hasSuffix("1 passed, 1 failed\n"))
    }
}
