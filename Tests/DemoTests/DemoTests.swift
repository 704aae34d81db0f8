import AutorebalancerCore
import Foundation
import Logging
import TestSupport
import Testing

@testable import Demo

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The demo end to end in-process: the real agent against the simulated EMQX cluster, Kubernetes API and operator.
/// Serialized so that one scenario's simulated clock does not compete with another's for the two cores.
@Suite(.serialized) struct DemoTests {
    static let seedNodes = (0...3).map { "emqx-ee@emqx-ee-\($0).emqx-ee-headless.default.svc.cluster.local" }

    @Test func seedScenarioEndsOnTheSeedArticlesFigures() async throws {
        let result = try await DemoRuns.shared.result(.scaleOut)
        let summary = result.summary
        let met = result.expectationMet
        #expect(met)
        #expect(summary.scenario == "scale-out")

        let nodes = Self.seedNodes
        #expect(
            summary.before.mapValues(\.connections)
                == Dictionary(uniqueKeysWithValues: zip(nodes, [3333, 3333, 3334, 0]))
        )
        #expect(
            summary.after.mapValues(\.connections)
                == Dictionary(uniqueKeysWithValues: zip(nodes, [2553, 2553, 2554, 2340]))
        )
        #expect(
            summary.after.mapValues(\.sessions)
                == Dictionary(uniqueKeysWithValues: zip(nodes, [2553, 2553, 2554, 2340]))
        )
        for counts in [summary.before, summary.after] {
            #expect(counts.values.map(\.connections).reduce(0, +) == 10_000)
            #expect(counts.values.map(\.sessions).reduce(0, +) == 10_000)
        }

        #expect(summary.rebalances.count == 1)
        let rebalance = try #require(summary.rebalances.first)
        #expect(rebalance.phase == "Completed")
        #expect(rebalance.spec.instanceKind == "EmqxEnterprise")
        #expect(rebalance.spec.instanceName == "emqx-ee")
        #expect(
            rebalance.spec.rebalanceStrategy
                == RebalanceStrategy(
                    connEvictRate: 10,
                    sessEvictRate: 10,
                    waitTakeover: 10,
                    waitHealthCheck: 10,
                    absConnThreshold: 100,
                    absSessThreshold: 100,
                    relConnThreshold: "1.1",
                    relSessThreshold: "1.1"
                )
        )
        #expect(summary.outcome == "balanced")

        #expect(summary.times.onsetSeconds == 5)
        let created = try #require(summary.times.createdSeconds)
        let completed = try #require(summary.times.completedSeconds)
        #expect(5 < created)
        #expect(created < completed)

        let rebalancing = summary.decisions.filter { $0.action == .rebalance }
        #expect(rebalancing.map(\.rule) == ["scale-out"])
        #expect(rebalancing.first?.recipients == [nodes[3]])
    }

    @Test func summaryJSONLineHasTheProductShape() async throws {
        let result = try await DemoRuns.shared.result(.scaleOut)
        let line = result.summary.jsonLine()
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["scenario"] as? String == "scale-out")

        let before = try #require(object["before"] as? [String: [String: Int]])
        let after = try #require(object["after"] as? [String: [String: Int]])
        #expect(before[Self.seedNodes[2]] == ["connections": 3334, "sessions": 3334])
        #expect(after[Self.seedNodes[3]] == ["connections": 2340, "sessions": 2340])

        let rebalances = try #require(object["rebalances"] as? [[String: Any]])
        #expect(rebalances.count == 1)
        let rebalance = try #require(rebalances.first)
        #expect((rebalance["name"] as? String)?.hasPrefix("emqx-ee-scaleout-") == true)
        #expect(rebalance["phase"] as? String == "Completed")
        let spec = try #require(rebalance["spec"] as? [String: Any])
        #expect(spec["instanceKind"] as? String == "EmqxEnterprise")
        #expect(spec["instanceName"] as? String == "emqx-ee")
        let strategy = try #require(spec["rebalanceStrategy"] as? [String: Any])
        #expect(strategy["connEvictRate"] as? Int == 10)
        #expect(strategy["relConnThreshold"] as? String == "1.1")

        let times = try #require(object["times"] as? [String: Double])
        #expect(Set(times.keys) == ["onsetSeconds", "createdSeconds", "completedSeconds"])
        #expect(times["onsetSeconds"] == 5)
        #expect(times["createdSeconds"] == result.summary.times.createdSeconds)
    }

    @Test(arguments: [(DemoScenario.restart, "restart"), (.skew, "skew")])
    func scenarioCreatesOneRebalanceFromItsRule(scenario: DemoScenario, rule: String) async throws {
        let result = try await DemoRuns.shared.result(scenario)
        let summary = result.summary
        let met = result.expectationMet
        #expect(
            met,
            "decisions: \(summary.decisions.map { "\($0.rule) \($0.action)" }), outcome: \(summary.outcome ?? "none")"
        )
        #expect(summary.rebalances.count == 1)
        #expect(summary.rebalances.first?.phase == "Completed")
        #expect(summary.decisions.filter { $0.action == .rebalance }.map(\.rule) == [rule])
        #expect(summary.outcome != nil)
        // No client is lost: the simulated cluster keeps its 10,000 clients across the event and the rebalance.
        #expect(summary.after.values.map(\.connections).reduce(0, +) == 10_000)
        let created = try #require(summary.times.createdSeconds)
        #expect((summary.times.onsetSeconds ?? .infinity) < created)
    }

    @Test func flappingCreatesNothing() async throws {
        let result = try await DemoRuns.shared.result(.flapping)
        let met = result.expectationMet
        #expect(met, "rebalances: \(result.summary.rebalances.map(\.name)), markers: \(result.markers.map(\.label))")
        #expect(result.summary.rebalances.isEmpty)
        #expect(result.summary.decisions.filter { $0.action == .rebalance }.isEmpty)
        #expect(result.summary.times.createdSeconds == nil)
        // The scenario did run its course: the timeline covers the flapping cycles.
        #expect((result.timeline.last?.seconds ?? 0) >= 120)
    }

    @Test func plotIsSVGWithOneLinePerNode() async throws {
        let result = try await DemoRuns.shared.result(.scaleOut)
        let svg = result.plot.svg()
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = DemoSVGCollector()
        parser.delegate = collector
        #expect(parser.parse(), "the plot is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
        #expect(collector.root == "svg")
        // Node 3 joins at 5 s: its line starts there, unbroken; no node stops in this scenario.
        #expect(collector.polylineTitles.sorted() == Self.seedNodes)
        #expect(collector.texts.contains { $0.contains("scale-out: rebalance") })

        let html = result.plot.html()
        #expect(html.contains("<svg"))
        #expect(html.contains(ConnectionsPlot.shortName(Self.seedNodes[3])))
    }

    /// 2.3 serves no EmqxEnterprise: the same four nodes as an EMQX 5 `EMQX` object (v2), rebalanced the same way.
    @Test func onOperator23TheSeedCaseIsAnEMQX5ObjectRebalancedTheSameWay() async throws {
        let result = try await DemoRuns.shared.result(.scaleOut, operator: .v2_3)
        #expect(result.expectationMet)
        #expect(result.summary.rebalances.map(\.spec.instanceKind) == ["EMQX"])
        #expect(result.summary.rebalances.map(\.phase) == ["Completed"])
        #expect(
            result.summary.after.mapValues(\.connections)
                == Dictionary(uniqueKeysWithValues: zip(Self.seedNodes, [2553, 2553, 2554, 2340]))
        )
    }

    /// 3.0 has no Rebalance resource: the seed case runs through EMQX's own load_rebalance API, to the same figures, with
    /// one EMQXRebalance record, Completed and judged balanced; the summary lists it where it lists Rebalances.
    @Test func onOperator30TheSeedCaseRunsThroughEMQXsAPIToTheSameFigures() async throws {
        let result = try await DemoRuns.shared.result(.scaleOut, operator: .v3_0)
        #expect(result.expectationMet)
        #expect(result.summary.rebalances.map(\.kind) == ["EMQXRebalance"])
        #expect(result.summary.rebalances.map(\.phase) == ["Completed"])
        #expect(result.summary.rebalances.first?.spec.rebalanceStrategy.connEvictRate == 10)
        #expect(result.summary.outcome == "balanced")
        #expect(result.summary.after.values.map(\.connections).sorted() == [2340, 2553, 2553, 2554])
        #expect(result.summary.decisions.filter { $0.action == .rebalance }.map(\.rule) == ["scale-out"])
        #expect(!result.summary.decisions.contains { $0.reason == .cannotAct })
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(result.summary.jsonLine().utf8)) as? [String: Any]
        )
        let listed = try #require((object["rebalances"] as? [[String: Any]])?.first)
        #expect(listed["kind"] as? String == "EMQXRebalance")
        #expect(listed["phase"] as? String == "Completed")
    }

    /// An HPA scales the replicants 3 → 5: the agent waits for both new nodes, rebalances once with the scale-out
    /// rule, and creates nothing while the later scale-in evacuates a replicant.
    @Test func hpaScaleOutIsRebalancedOnceAndTheScaleInIsLeftAlone() async throws {
        let result = try await DemoRuns.shared.result(.hpa, operator: .v2_3)
        #expect(result.expectationMet, "markers: \(result.markers.map(\.label))")
        #expect(result.summary.rebalances.count == 1)
        let rebalancing = result.summary.decisions.filter { $0.action == .rebalance }
        #expect(rebalancing.map(\.rule) == ["scale-out"])
        #expect(rebalancing.first?.recipients.count == 2)
        #expect(result.summary.outcome == "balanced")
        // The two new replicants were empty when the agent acted, and took their share.
        #expect(result.summary.before.values.map(\.connections).sorted() == [0, 0, 1500, 1500, 1500])
        #expect(result.summary.after.values.map(\.connections).reduce(0, +) == 4500)
        #expect(result.summary.after.values.allSatisfy { $0.connections >= 800 })
    }

    @Test func shippedDemoPolicyFileEqualsTheEmbeddedText() throws {
        let url = PackagePaths.root.appendingPathComponent(DemoPolicy.file)
        let text = try String(contentsOf: url, encoding: .utf8)
        // A Swift multi-line literal ends before its last newline; the file ends with one.
        #expect(text == DemoPolicy.text + "\n", "rules/demo.yaml and DemoPolicy.text differ; keep them identical")
        #expect(PolicyLoader.load(text: text, file: DemoPolicy.file).policy != nil)
    }
}

/// Each scenario runs once per test process; the tests read its result.
///
/// Simulated time runs on the wall clock, so on a loaded machine the agent can fall behind it. The flapping scenario
/// shows that nothing is created only if the agent sees each cycle's quiet phase (about 9 s of simulated time):
/// a run in which two of its evaluations were more than `flappingMaximumGap` apart is repeated at half the speed,
/// down to `slowestSpeed`, and the tests fail if the agent never kept up. (The scenarios that expect a Rebalance hold
/// however late the agent looks.)
actor DemoRuns {
    static let shared = DemoRuns()
    /// Simulated seconds per wall second: each scenario takes a few seconds of wall time.
    static let speed = 25.0
    static let slowestSpeed = 3.0
    /// The demo policy evaluates every 5 s; a gap under the quiet phase's length means every quiet phase was seen.
    static let flappingMaximumGap: Duration = .seconds(8)
    var results: [String: DemoRunner.Result] = [:]

    func result(
        _ scenario: DemoScenario,
        operator generation: OperatorGeneration = .v2_2
    ) async throws -> DemoRunner.Result {
        let key = "\(scenario.rawValue)@\(generation.rawValue)"
        if let result = results[key] { return result }
        let logger = Logger(label: "demo-test") { _ in SwiftLogNoOpLogHandler() }
        var speed = Self.speed
        while true {
            let result = try await DemoRunner(
                options: .init(scenario: scenario, speed: speed, operatorGeneration: generation),
                logger: logger
            ).run { _ in }
            if scenario != .flapping || result.longestEvaluationGap <= Self.flappingMaximumGap {
                results[key] = result
                return result
            }
            guard speed / 2 >= Self.slowestSpeed else {
                throw DemoRunner.DemoError(
                    description: """
                        the agent fell behind simulated time even at \(speed)x: its evaluations were up to \
                        \(result.longestEvaluationGap) apart (at most \(Self.flappingMaximumGap) expected)
                        """
                )
            }
            speed /= 2
        }
    }
}

/// The root element, the `<title>` of every polyline and all text of an SVG document.
final class DemoSVGCollector: NSObject, XMLParserDelegate {
    var root: String?
    var polylineTitles: [String] = []
    var texts: [String] = []
    private var stack: [String] = []
    private var buffer = ""

    func parser(
        _ parser: XMLParser,
        didStartElement name: String,
        namespaceURI: String?,
        qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        if root == nil { root = name }
        stack.append(name)
        buffer = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        buffer += string
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        stack.removeLast()
        let text = buffer.trimmingCharacters(in: .whitespacesAndNewlines)
        if name == "title", stack.last == "polyline" { polylineTitles.append(text) }
        if !text.isEmpty { texts.append(text) }
        buffer = ""
    }
}
