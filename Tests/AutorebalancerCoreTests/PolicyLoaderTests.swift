import Foundation
import Testing

@testable import AutorebalancerCore

/// The policy corpus: every `*.bad.yaml` under Resources/policies yields exactly the diagnostics of its
/// `*.bad.expected` (each line `LINE:COL: severity: message-prefix`), every `*.good.yaml` loads without any.
struct PolicyLoaderTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Resources/policies"
    )

    static var badFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).filter { $0.hasSuffix(".bad.yaml") }
            .sorted()
    }

    static var goodFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).filter {
            $0.hasSuffix(".good.yaml")
        }.sorted()
    }

    @Test func corpusIsPresent() {
        #expect(Self.badFiles.count >= 7)
        #expect(Self.goodFiles.count >= 2)
    }

    @Test(arguments: badFiles)
    func badPolicyDiagnostics(_ name: String) throws {
        let text = try String(contentsOf: Self.corpus.appendingPathComponent(name), encoding: .utf8)
        let expectedText = try String(
            contentsOf: Self.corpus.appendingPathComponent(name.replacingOccurrences(of: ".yaml", with: ".expected")),
            encoding: .utf8
        )
        let expected = expectedText.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        let result = PolicyLoader.load(text: text, file: name)
        let got = result.diagnostics.sortedByLocation().map { String($0.description.dropFirst(name.count + 1)) }
        #expect(got.count == expected.count, "got:\n\(got.joined(separator: "\n"))")
        for (g, e) in zip(got, expected) {
            #expect(g.hasPrefix(e), "expected prefix \(e)\ngot \(g)")
        }
        if result.diagnostics.hasErrors { #expect(result.policy == nil) }
    }

    @Test(arguments: goodFiles)
    func goodPolicyLoadsCleanly(_ name: String) throws {
        let text = try String(contentsOf: Self.corpus.appendingPathComponent(name), encoding: .utf8)
        let result = PolicyLoader.load(text: text, file: name)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        #expect(result.policy != nil)
    }

    @Test func fullPolicyBuildsTheDomainModel() throws {
        let text = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: Policy
            metadata: {name: full, version: "7"}
            spec:
              evaluationInterval: 10s
              staleness: 1m30s
              paused: true
              limits: {maxRebalancesPerDay: 5, maxConsecutiveIneffective: 3}
              maintenanceWindows:
                - {name: w, days: [Sat, sunday], start: "22:00", end: "02:00"}
              rules:
                - name: restart
                  trigger: {type: restart, window: 20m, nearZeroConnections: 5}
                  imbalance:
                    connections: {abs: 500, rel: "1.25"}
                    sessions: {abs: 600, rel: 1.3}
                  for: 2m
                  cooldown: 30m
                  minConnections: 100
                  minNodes: 3
                  priority: 4
                  bypassMaintenance: true
                  rebalanceStrategy:
                    connEvictRate: auto
                    autoEvictRate: {targetDuration: 5m, min: 20, max: 300}
                    sessEvictRate: 30
                    waitTakeover: 5
                    waitHealthCheck: 6
                    absConnThreshold: 400
                    absSessThreshold: 500
                    relConnThreshold: "1.2"
                    relSessThreshold: 1.2
                  labels: {severity: info}
                  annotations: {summary: s}
            """
        let result = PolicyLoader.load(text: text, file: "full.yaml")
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        let policy = try #require(result.policy)
        #expect(policy.identifier == "full@7")
        #expect(policy.evaluationInterval == 10)
        #expect(policy.staleness == 90)
        #expect(policy.paused)
        #expect(policy.limits == PolicyLimits(maxRebalancesPerDay: 5, maxConsecutiveIneffective: 3))
        #expect(
            policy.maintenanceWindows == [
                MaintenanceWindow(name: "w", weekdays: [6, 7], startMinute: 1320, endMinute: 120)
            ]
        )
        let rule = try #require(policy.rules.first)
        #expect(rule.trigger == .restart)
        #expect(rule.triggerWindow == 1200)
        #expect(rule.nearZeroConnections == 5)
        #expect(rule.connections == BalanceThreshold(absolute: 500, relative: 1.25))
        #expect(rule.sessions == BalanceThreshold(absolute: 600, relative: 1.3))
        #expect(rule.forDuration == 120)
        #expect(rule.cooldown == 1800)
        #expect(rule.minConnections == 100)
        #expect(rule.minNodes == 3)
        #expect(rule.priority == 4)
        #expect(rule.bypassMaintenance)
        #expect(rule.strategy.connEvictRate == .auto(targetDuration: 300, minimum: 20, maximum: 300))
        #expect(
            rule.strategy.resolved(connEvictRate: 9)
                == RebalanceStrategy(
                    connEvictRate: 9,
                    sessEvictRate: 30,
                    waitTakeover: 5,
                    waitHealthCheck: 6,
                    absConnThreshold: 400,
                    absSessThreshold: 500,
                    relConnThreshold: "1.2",
                    relSessThreshold: "1.2"
                )
        )
        #expect(rule.labels == ["severity": "info"])
    }

    /// Layer 1 keeps what was written, with positions, even when it means nothing valid; layer 2 judges it.
    @Test func documentLayerIsLenientAndValidatorJudges() throws {
        let text = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: Policy
            metadata: {name: p}
            spec:
              rules:
                - name: Skew
                  trigger: sideways
                  imbalance:
                    connections: {abs: 10, rel: 0.9}
            """
        let reader = YAMLReader(file: "p.yaml")
        let document = try #require(PolicyDocument.read(text: text, reader: reader))
        #expect(reader.diagnostics.isEmpty)
        let rule = try #require(document.spec?.rules?.value.first)
        #expect(rule.name == Located("Skew", at: SourceLocation(file: "p.yaml", line: 6, column: 13)))
        #expect(rule.trigger?.type?.value == "sideways")
        #expect(rule.connections?.rel == Located(0.9, at: SourceLocation(file: "p.yaml", line: 9, column: 37)))
        var validator = PolicyValidator(file: "p.yaml")
        _ = validator.validate(document)
        #expect(
            validator.diagnostics.map(\.description) == [
                "p.yaml:6:13: error: spec.rules[0].name: \"Skew\" must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)",
                "p.yaml:7:16: error: rule \"Skew\": unknown trigger \"sideways\"; expected scaleOut, restart or skew",
                "p.yaml:9:37: error: rule \"Skew\": imbalance.connections.rel must be greater than 1.0 (EMQX rejects a relative threshold of 1.0 or less), got 0.9",
            ]
        )
    }

    @Test(arguments: [
        ("30s", 30.0), ("5m", 300.0), ("1h30m", 5400.0), ("500ms", 0.5), ("1d", 86400.0), ("0", 0.0), ("1m30s", 90.0),
    ])
    func durationsParse(_ text: String, _ seconds: Double) {
        #expect(DurationText.parse(text) == seconds)
    }

    @Test(arguments: ["", "5", "5x", "m", "1h 30m", "30 s", "1.5.2s"])
    func badDurationsAreRejected(_ text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test(arguments: [(40.0, "40s"), (120.0, "2m"), (5400.0, "1h30m"), (90.0, "1m30s"), (0.0, "0s")])
    func durationsFormat(_ seconds: Double, _ text: String) {
        #expect(DurationText.format(seconds) == text)
    }

    @Test func maintenanceWindowSpanningMidnightBelongsToItsStartDay() {
        // Saturday 23:00 – Sunday 01:00, on Saturdays only.
        let window = MaintenanceWindow(weekdays: [6], startMinute: 23 * 60, endMinute: 60)
        let saturday2330 = KubernetesTime.parse("2026-11-21T23:30:00Z")!
        let sunday0030 = KubernetesTime.parse("2026-11-22T00:30:00Z")!
        let sunday2330 = KubernetesTime.parse("2026-11-22T23:30:00Z")!
        let saturday0030 = KubernetesTime.parse("2026-11-21T00:30:00Z")!
        #expect(window.contains(saturday2330))
        #expect(window.contains(sunday0030))
        #expect(!window.contains(sunday2330))
        #expect(!window.contains(saturday0030))
    }
}
