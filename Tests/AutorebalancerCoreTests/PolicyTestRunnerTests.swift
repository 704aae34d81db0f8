import Foundation
import Testing

@testable import AutorebalancerCore

struct PolicyTestRunnerTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let shippedTests = packageRoot.appendingPathComponent("rules/tests")

    static var shippedTestFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: shippedTests.path)) ?? []).filter {
            $0.hasSuffix(".yaml")
        }.sorted()
    }

    static func loader(relativeTo directory: URL) -> (String) -> PolicySource? {
        { name in
            let url = directory.appendingPathComponent(name).standardizedFileURL
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
            return PolicySource(text: text, file: name)
        }
    }

    @Test func everyShippedPolicyHasTests() {
        #expect(Self.shippedTestFiles.count >= 6)
    }

    /// The shipped rules/tests pass (scripts/checks/policy-tests.sh runs them through the CLI too).
    @Test(arguments: shippedTestFiles)
    func shippedTestsPass(_ name: String) throws {
        let text = try String(contentsOf: Self.shippedTests.appendingPathComponent(name), encoding: .utf8)
        let result = PolicyTestRunner.run(
            text: text,
            file: name,
            loadPolicy: Self.loader(relativeTo: Self.shippedTests)
        )
        #expect(!result.diagnostics.hasErrors, "\(result.diagnostics)")
        #expect(result.failed == 0, "\(result.cases.flatMap(\.failures).map(\.description).joined(separator: "\n"))")
        #expect(result.passed == result.cases.count)
        #expect(result.passed > 0)
    }

    static let policy = """
        apiVersion: autorebalancer.emqx.io/v1alpha1
        kind: Policy
        metadata: {name: p}
        spec:
          evaluationInterval: 10s
          rules:
            - name: skew
              trigger: skew
              imbalance:
                connections: {abs: 200, rel: 1.2}
              for: 30s
              rebalanceStrategy: {connEvictRate: 10, absConnThreshold: 100, relConnThreshold: "1.1"}
        """

    func run(_ test: String) -> PolicyTestFileResult {
        PolicyTestRunner.run(text: test, file: "t.yaml") { name in
            name == "p.yaml" ? PolicySource(text: Self.policy, file: "p.yaml") : nil
        }
    }

    @Test func aWrongExpectationFailsWithAReadableDiff() throws {
        let result = run(
            """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: PolicyTest
            policies: [p.yaml]
            tests:
              - name: too early
                series:
                  - {node: a, connections: 3000x5}
                  - {node: b, connections: 0x5}
                expect:
                  - at: 20s
                    decisions: [{rule: skew, action: rebalance}]
                  - at: 30s
                    decisions: [{rule: skew, action: rebalance}]
            """
        )
        #expect(result.passed == 0)
        #expect(result.failed == 1)
        let failure = try #require(result.cases.first?.failures.first)
        #expect(result.cases.first?.failures.count == 1)
        #expect(
            failure.description == """
                t.yaml:10:9: test "too early" at 20s (2026-11-20T10:00:20Z):
                    decisions:
                      expected: rebalance by skew
                      got:      (none)
                    rules at this instant:
                      skew: pending (pending: for not yet elapsed: 20s of 30s) avg(3000)=3000.0 > 0*1.2=0.0 and > 0+200=200.0 (imbalanced)
                """
        )
    }

    @Test func whyNotAndPhaseMismatchesAreReported() throws {
        let result = run(
            """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: PolicyTest
            policies: [p.yaml]
            evaluationInterval: 5s
            tests:
              - name: reasons
                series:
                  - {node: a, connections: 3000x5}
                  - {node: b, connections: 0x5}
                expect:
                  - at: 5s
                    whyNot: {skew: cooldown}
                    phase: {skew: firing}
            """
        )
        let failure = try #require(result.cases.first?.failures.first)
        #expect(failure.lines.contains("  expected: cooldown"))
        #expect(failure.lines.contains("  got:      pending: for not yet elapsed: 5s of 30s"))
        #expect(failure.lines.contains("  expected: firing"))
        #expect(failure.lines.contains("  got:      pending"))
    }

    @Test func invalidTestFilesReportPositions() {
        let result = run(
            """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: PolicyTest
            policies: [p.yaml]
            tests:
              - name: bad
                series:
                  - {node: a, connections: 3000x5 1+}
                expect:
                  - at: 7s
                    whyNot: {skw: pendng}
            """
        )
        let lines = result.diagnostics.sortedByLocation().map(\.description)
        #expect(lines.count == 2, "\(lines)")
        #expect(
            lines.contains {
                $0.hasPrefix("t.yaml:7:32: error: test \"bad\": series[0].connections: \"1+\" is not series notation")
            }
        )
        #expect(
            lines.contains {
                $0.hasPrefix(
                    "t.yaml:10:23: error: test \"bad\": expect[0].whyNot.skw: unknown reason \"pendng\" (did you mean \"pending\"?)"
                )
            }
        )
        #expect(result.failed == 1)
    }

    @Test func missingPolicyFilesAndUnknownRulesAreErrors() {
        let result = run(
            """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: PolicyTest
            policies: [p.yaml, missing.yaml]
            tests:
              - name: t
                series: [{node: a, connections: "1"}]
                expect: [{at: 0s}]
            """
        )
        #expect(
            result.diagnostics.map(\.description) == [
                "t.yaml:3:20: error: cannot read policy file \"missing.yaml\" (paths are relative to the test file)"
            ]
        )
        let unknownRule = run(
            """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: PolicyTest
            policies: [p.yaml]
            tests:
              - name: t
                series: [{node: a, connections: "1"}]
                expect: [{at: 7s, phase: {skwe: pending}}]
            """
        )
        #expect(
            unknownRule.diagnostics.map(\.description) == [
                "t.yaml:7:14: error: test \"t\": at 7s is not an evaluation instant (every 10s)",
                "t.yaml:7:14: error: test \"t\": no rule \"skwe\" in the tested policies (did you mean \"skew\"?)",
            ]
        )
        #expect(unknownRule.failed == 1)
    }

    @Test(arguments: [
        ("1 2 3", [SeriesValue.sample(1), .sample(2), .sample(3)]),
        ("0+100x3", [.sample(0), .sample(100), .sample(200), .sample(300)]),
        ("10-5x2", [.sample(10), .sample(5), .sample(0)]),
        ("-5+5x1", [.sample(-5), .sample(0)]),
        ("7x2 _ _x2 . .x1", [.sample(7), .sample(7), .sample(7), .absent, .absent, .absent, .carried, .carried]),
        ("1e3x1", [.sample(1000), .sample(1000)]),
    ])
    func seriesNotation(_ text: String, _ values: [SeriesValue]) throws {
        #expect(try SeriesNotation.parse(text).get() == values)
    }

    @Test(arguments: ["1+", "x3", "ax2", "_xa", "3x-1", "1+2"])
    func badSeriesNotation(_ text: String) {
        #expect(throws: SeriesNotationError.self) { try SeriesNotation.parse(text).get() }
    }

    /// A series too long to replay is refused before anything is allocated (a `3000x999999999999` once took 17 GB).
    @Test(arguments: [
        "3000x999999999999", "_x999999999999", ".x100001", "1x99999 2", "0+1x9223372036854775807",
        "1x99999999999999999999999",
    ])
    func seriesLongerThanAnyTestAreRefused(_ text: String) {
        let result = SeriesNotation.parse(text)
        #expect(throws: SeriesNotationError.self) { try result.get() }
        if case .failure(let error) = result { #expect(error.description.contains("longer than 100000 steps")) }
    }

    static func loadTest(
        series: String,
        duration: String = "1m",
        interval: String = "",
        start: String = "2026-11-20T10:00:00Z"
    ) -> [String] {
        let text = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: PolicyTest
            policies: [p.yaml]
            \(interval)
            tests:
              - name: t
                start: "\(start)"
                duration: \(duration)
                series: [{node: a, connections: "\(series)"}]
                expect: [{at: 0s, decisions: []}]
            """
        return PolicyTestLoader.load(text: text, file: "t.yaml").diagnostics.map(\.description)
    }

    @Test func seriesValuesNoNodeCouldReportAreRefusedWithTheirPosition() {
        #expect(
            Self.loadTest(series: "10 -1 10").first?.contains(
                "t.yaml:9:37: error: test \"t\": series[0].connections: step 1 is -1, which is negative"
            ) == true
        )
        #expect(Self.loadTest(series: "1 1e400").first?.contains("step 1 is +Inf, which is infinite") == true)
        #expect(
            Self.loadTest(series: "1e19").first?.contains("step 0 is 1e+19, which is above the plausible maximum")
                == true
        )
        #expect(Self.loadTest(series: "NaN").first?.contains("step 0 is NaN, which is not a number") == true)
        #expect(
            Self.loadTest(series: "1 2", duration: "99999999d").first?.contains(
                "duration: \"99999999d\" is longer than the maximum of 365d"
            ) == true
        )
        #expect(
            Self.loadTest(series: "1 2", interval: "evaluationInterval: 2d").first?.contains(
                "evaluationInterval: \"2d\" is longer than the maximum of 1d"
            ) == true
        )
        #expect(
            Self.loadTest(series: "1", start: "0001-01-01T00:00:00Z") == [
                #"t.yaml:7:12: error: test "t": start "0001-01-01T00:00:00Z" is outside 2000-01-01 … 2200-01-01"#
            ]
        )
        #expect(
            Self.loadTest(series: "1", start: "9999-12-31T23:59:59Z").first?.contains(
                "is outside 2000-01-01 … 2200-01-01"
            ) == true
        )
    }

    @Test func aTestWithMoreStepsThanAnyReplayIsAnErrorNotAHang() {
        let test = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: PolicyTest
            policies: [p.yaml]
            evaluationInterval: 1ms
            tests:
              - name: long
                duration: 365d
                series: [{node: a, connections: "1"}]
                expect: [{at: 0s, decisions: []}]
            """
        let result = PolicyTestRunner.run(text: test, file: "t.yaml") { _ in
            PolicySource(text: Self.policy, file: "p.yaml")
        }
        #expect(
            result.diagnostics.map(\.description).contains {
                $0.contains(
                    "test \"long\": 365d at an evaluation interval of 1ms is 31536000000 steps; a test replays at most 100000"
                )
            }
        )
        #expect(result.failed == 1)
    }

    @Test func checkerRegistryDispatchesOnKind() {
        let registry = DocumentCheckerRegistry.builtIn
        #expect(registry.kinds == ["Policy", "PolicyTest"])
        let unknown = registry.check(text: "apiVersion: x\nkind: Polcy\n", file: "f.yaml")
        #expect(
            unknown.map(\.description) == [
                "f.yaml:2:7: error: unknown kind \"Polcy\" (did you mean \"Policy\"?); expected one of \"Policy\", \"PolicyTest\""
            ]
        )
        let missing = registry.check(text: "apiVersion: x\n", file: "f.yaml")
        #expect(missing.first?.message.hasPrefix("missing \"kind\"") == true)
        struct Other: DocumentChecker {
            var kind: String { "AgentConfig" }
            func check(text: String, file: String) -> [Diagnostic] {
                [Diagnostic(.warning, at: SourceLocation(file: file, line: 1, column: 1), "seen")]
            }
        }
        let extended = registry.adding(Other())
        #expect(extended.check(text: "kind: AgentConfig\n", file: "a.yaml").map(\.message) == ["seen"])
        #expect(registry.check(text: Self.policy, file: "p.yaml").isEmpty)
    }
}
