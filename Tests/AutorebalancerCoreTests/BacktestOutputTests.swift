import Foundation
import Testing

@testable import AutorebalancerCore

#if canImport(FoundationXML)
import FoundationXML
#endif

struct BacktestOutputTests {
    typealias F = BacktestFixture

    /// The scale-out scenario with sessions given (so no note): one decision at 360 s.
    func scaleOutReport() throws -> BacktestRunner.Report {
        let connections = F.matrix(nodes: 4, steps: 40) { node, i in node == 3 ? (i >= 10 ? 0 : nil) : 3333 }
        let sessions = F.matrix(nodes: 4, steps: 40) { node, i in node == 3 ? (i >= 10 ? 0 : nil) : 3333 }
        return try F.run(F.policy([F.rule("scale-out", .scaleOut)]), connections: connections, sessions: sessions)
    }

    @Test func jsonIsOneRecordPerDecisionThenTheSummary() throws {
        let report = try scaleOutReport()
        let lines = BacktestOutput.jsonLines(report, explain: false)
        #expect(lines.count == 2)
        #expect(lines[0] == report.decisions[0].jsonLine())
        #expect(
            lines[0].hasPrefix(
                #"{"time":"2026-11-20T10:06:00Z","cluster":"default/emqx-ee","rule":"scale-out","trigger":"scaleOut","action":"rebalance","donors":["n0","n1","n2"],"recipients":["n3"],"connections":{"n0":3333,"n1":3333,"n2":3333,"n3":0}"#
            )
        )
        #expect(
            lines[1] == #"{"summary":{"steps":40,"decisions":{"scale-out":1},"blocked":{"cooldown":27,"pending":2}}}"#
        )
        for line in lines {
            #expect(
                (try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any],
                "\(line) is one JSON object"
            )
        }
    }

    @Test func explainAddsTheHeldBackStepsInTimeOrder() throws {
        let report = try scaleOutReport()
        let lines = BacktestOutput.jsonLines(report, explain: true)
        #expect(lines.count == 1 + 2 + 27 + 1)
        let objects = try lines.dropLast().map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let times = objects.compactMap { $0["time"] as? String }
        #expect(times == times.sorted())
        #expect(objects.filter { $0["action"] as? String == "blocked" }.allSatisfy { $0["reason"] is String })
        #expect(objects[0]["action"] as? String == "blocked" && objects[0]["reason"] as? String == "pending")
        #expect(objects[2]["action"] as? String == "rebalance")
        #expect(lines.last?.contains("\"time\"") == false)
    }

    @Test func theSummaryShapeMatchesTheDocumentedExample() {
        let blocked =
            (0..<12).map { _ in
                DecisionRecord(
                    time: F.t0,
                    cluster: "c",
                    rule: "scale-out",
                    trigger: .scaleOut,
                    action: .blocked,
                    reason: .missingData
                )
            }
            + (0..<40).map { _ in
                DecisionRecord(
                    time: F.t0,
                    cluster: "c",
                    rule: "scale-out",
                    trigger: .scaleOut,
                    action: .blocked,
                    reason: .cooldown
                )
            }
        let report = BacktestRunner.Report(
            steps: 240,
            start: F.t0,
            end: F.time(7170),
            decisions: [
                DecisionRecord(time: F.t0, cluster: "c", rule: "scale-out", trigger: .scaleOut, action: .rebalance)
            ],
            blocked: blocked,
            sessionsSkipped: false,
            rulesWithoutSessions: [],
            rulesNotEvaluated: [],
            nodes: [],
            timeline: []
        )
        #expect(
            BacktestOutput.jsonSummary(report)
                == #"{"summary":{"steps":240,"decisions":{"scale-out":1},"blocked":{"cooldown":40,"missing-data":12}}}"#
        )
        var skipped = report
        skipped.sessionsSkipped = true
        #expect(
            BacktestOutput.jsonSummary(skipped).hasSuffix(
                #","note":"no session data: session thresholds skipped (no rule of the policy watches sessions)"}}"#
            )
        )
        #expect(
            BacktestOutput.textSummary(report)
                == "summary: 240 steps (2026-11-20T10:00:00Z .. 2026-11-20T11:59:30Z); decisions: scale-out 1; held back: cooldown 40, missing-data 12"
        )
    }

    @Test func textTimelineHasOneLinePerRecordAndASummary() throws {
        let report = try scaleOutReport()
        let plain = BacktestOutput.textLines(report, explain: false)
        #expect(
            plain == [
                "2026-11-20T10:06:00Z  scale-out  rebalance  trigger scaleOut, donors n0,n1,n2 -> recipients n3  \(report.decisions[0].formula)",
                "summary: 40 steps (2026-11-20T10:00:00Z .. 2026-11-20T10:19:30Z); decisions: scale-out 1; held back: cooldown 27, pending 2",
            ]
        )
        let explained = BacktestOutput.textLines(report, explain: true)
        #expect(explained.count == 31)
        #expect(explained[0].hasPrefix("2026-11-20T10:05:00Z  scale-out  blocked  pending: "))
    }

    func parse(_ xml: String) -> (ok: Bool, collector: SVGCollector) {
        let parser = XMLParser(data: Data(xml.utf8))
        let collector = SVGCollector()
        parser.delegate = collector
        return (parser.parse(), collector)
    }

    @Test func thePlotIsValidSVGWithTheDecisionMarked() throws {
        let report = try scaleOutReport()
        let svg = BacktestOutput.plot(report, title: "backtest of backtest on default/emqx-ee").svg()
        let (ok, collector) = parse(svg)
        #expect(ok)
        #expect(collector.elements["svg"] == 1)
        #expect(collector.elements["polyline", default: 0] >= 4)
        #expect(collector.texts.contains("scale-out: rebalance"))
        #expect(collector.texts.contains("n3"))
    }

    @Test func longReplaysAreThinnedForThePlot() throws {
        let data = F.matrix(nodes: 2, steps: 5000) { node, i in Double(node * 1000 + i % 7) }
        let report = try F.run(F.policy([F.rule("skew", .skew)]), connections: data)
        let plot = BacktestOutput.plot(report, title: "t", maxPoints: 1000)
        #expect(plot.series.allSatisfy { $0.points.count <= 1001 })
        #expect(plot.series.first?.points.last?.time == report.timeline.last?.time)
    }

    @Test func theHTMLPageShowsTheTitleOnceTheChartTheDecisionsAndTheSummary() throws {
        let report = try scaleOutReport()
        let html = BacktestOutput.html(report, title: "a <title>")
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.contains("<?xml"))
        #expect(html.components(separatedBy: "<h1>a &lt;title&gt;</h1>").count == 2)
        let start = try #require(html.range(of: "<svg"))
        let end = try #require(html.range(of: "</svg>"))
        let embedded = String(html[start.lowerBound..<end.upperBound])
        let (ok, collector) = parse(embedded)
        #expect(ok)
        #expect(!collector.texts.contains("a <title>"), "the heading shows the title; the chart does not repeat it")
        // One table row per decision, with its formula.
        let decision = try #require(report.decisions.first)
        #expect(html.components(separatedBy: "<tr id=\"marker-").count - 1 == report.decisions.count)
        #expect(html.contains("<td>\(ConnectionsPlot.escape(decision.formula))</td>"))
        #expect(html.contains("decisions: scale-out 1"))
    }

    @Test func aDecisionMarkerCarriesItsFormulaAndTheOtherRulesWhyNot() throws {
        let connections = F.matrix(nodes: 4, steps: 40) { node, i in node == 3 ? (i >= 10 ? 0 : nil) : 3333 }
        let report = try F.run(
            F.policy([F.rule("scale-out", .scaleOut), F.rule("skew", .skew, forDuration: 600)]),
            connections: connections
        )
        let plot = BacktestOutput.plot(report, title: "t")
        let marker = try #require(plot.markers.first { $0.label == "scale-out: rebalance" })
        let decision = try #require(report.decisions.first { $0.rule == "scale-out" })
        #expect(marker.formula == decision.formula)
        #expect(marker.whyNot.contains { $0.hasPrefix("skew: ") }, "\(marker.whyNot)")
        #expect(!marker.whyNot.contains { $0.hasPrefix("scale-out: ") }, "the decided rule is not its own why-not")
    }
}
