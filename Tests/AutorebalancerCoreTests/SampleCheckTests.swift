import Foundation
import Testing

@testable import AutorebalancerCore

/// The one validation point for numbers from outside, and the formatting that must never trap on what slips past.
struct SampleCheckTests {
    static let now = Date(timeIntervalSince1970: 1_795_168_800)

    @Test(arguments: [
        (Double.nan, "is not a number"), (.infinity, "is infinite"), (-.infinity, "is infinite"), (-1, "is negative"),
        (1e19, "above the plausible maximum"), (1e308, "above the plausible maximum"),
        (100_000_001, "above the plausible maximum"),
    ])
    func implausibleCountsAreRefused(value: Double, problem: String) {
        #expect(SampleCheck.problem(with: value, as: .count)?.contains(problem) == true)
    }

    @Test(arguments: [0.0, 1, 3333, 2553.5, 100_000_000])
    func plausibleCountsPass(value: Double) {
        #expect(SampleCheck.problem(with: value, as: .count) == nil)
    }

    @Test func sampleTimesInTheFutureBeyondTheSkewOrBefore2000AreRefused() {
        #expect(SampleCheck.problem(withTime: Self.now.addingTimeInterval(60), now: Self.now) == nil)
        #expect(SampleCheck.problem(withTime: Self.now.addingTimeInterval(-86_400 * 365), now: Self.now) == nil)
        #expect(
            SampleCheck.problem(withTime: Self.now.addingTimeInterval(61), now: Self.now)?.contains("in the future")
                == true
        )
        #expect(
            SampleCheck.problem(withTime: Self.now.addingTimeInterval(365 * 86_400), now: Self.now)?.contains(
                "365d in the future"
            ) == true
        )
        #expect(
            SampleCheck.problem(withTime: Date(timeIntervalSince1970: 1), now: Self.now)?.contains("before 2000")
                == true
        )
        #expect(SampleCheck.problem(withTime: Date(timeIntervalSince1970: 1e300), now: Self.now) != nil)
    }

    @Test func observationCheckMakesEveryImplausibleNumberUnknownAndSaysSo() {
        let answer = SourceObservation(
            nodes: [
                NodeObservation(
                    name: "emqx@a",
                    liveConnections: 3333,
                    connections: -1,
                    sessions: .infinity,
                    observedAt: Self.now,
                    uptimeSeconds: 1e300,
                    restartCounter: .nan
                ),
                NodeObservation(name: "emqx@b", liveConnections: 1e19, observedAt: Self.now),
                NodeObservation(
                    name: "emqx@c",
                    liveConnections: 10,
                    observedAt: Self.now.addingTimeInterval(365 * 86_400)
                ),
                NodeObservation(name: "emqx@d", liveConnections: 10, observedAt: Self.now),
                NodeObservation(name: "emqx@d", liveConnections: 99999, observedAt: Self.now),
                NodeObservation(name: "emqx@e", liveConnections: 7, observedAt: Self.now.addingTimeInterval(-30)),
            ],
            warnings: ["from the source"]
        )
        let checked = ObservationCheck.validate(answer, at: Self.now)
        #expect(checked.nodes.map(\.name) == ["emqx@a", "emqx@b", "emqx@e"])
        #expect(checked.nodes[0] == NodeObservation(name: "emqx@a", liveConnections: 3333, observedAt: Self.now))
        #expect(checked.nodes[1].liveConnections == nil)
        #expect(checked.nodes[2].liveConnections == 7)
        #expect(checked.warnings.first == "from the source")
        let text = checked.warnings.joined(separator: "\n")
        #expect(text.contains("node emqx@a: connections -1 is negative; unknown this cycle"))
        #expect(text.contains("node emqx@a: sessions +Inf is infinite"))
        #expect(text.contains("node emqx@a: uptime (seconds) 1e+300 is above the plausible maximum"))
        #expect(text.contains("node emqx@a: restart counter NaN is not a number"))
        #expect(text.contains("node emqx@b: live connections 1e+19 is above the plausible maximum of 100000000"))
        #expect(text.contains("node emqx@c: the sample time 2027-11-20T10:00:00Z is 365d in the future"))
        #expect(text.contains("node emqx@d was reported 2 times in one answer; its numbers are unknown this cycle"))
    }

    @Test func durationsParseOnlyToFiniteValuesAndFormatWhateverTheyAre() {
        #expect(DurationText.parse(String(repeating: "9", count: 400) + "s") == nil)
        #expect(DurationText.parse("99999999999999999d") == 99999999999999999.0 * 86_400)
        #expect(DurationText.format(1e300).hasSuffix("d"))
        #expect(DurationText.format(.infinity) == "+Inf")
        #expect(DurationText.format(-.infinity) == "-Inf")
        #expect(DurationText.format(.nan) == "NaN")
        #expect(DurationText.format(9.3e18) == "107638888888889d")
        #expect(DurationText.format(90) == "1m30s")
    }

    @Test func numberFormattingNeverTraps() {
        for value in [Double.nan, .infinity, -.infinity, 1e19, -1e19, 9.3e15, .greatestFiniteMagnitude] {
            _ = BalanceEvaluation.format(value)
            _ = BalanceEvaluation.format1(value)
            _ = String(format3: value)
        }
        #expect(String(format3: 1e19) == "1e+19")
        #expect(String(format3: 2.5) == "2.500")
    }

    @Test func recordsLeaveOutCountsNoIntegerHolds() {
        let counts = PolicyEngine.wholeCounts([("a", 3333.4), ("b", 1e19), ("c", .infinity), ("d", .nan), ("a", 7)])
        #expect(counts == ["a": 7])
    }

    @Test func plotOfAbsurdTimesAndValuesStaysInsideTheDrawing() {
        let plot = ConnectionsPlot(
            title: "t",
            series: [
                .init(
                    node: "emqx@a",
                    points: [
                        (Date(timeIntervalSince1970: 1e300), 1e308), (Date(timeIntervalSince1970: -1e300), -5),
                        (Date(), .nan),
                    ]
                ),
                .init(node: "emqx@b", points: [(Date(timeIntervalSince1970: 0), .infinity)]),
            ],
            markers: [.init(time: Date(timeIntervalSince1970: 1e300), label: "x", kind: "rebalance")]
        )
        let svg = plot.svg()
        #expect(svg.hasSuffix("</svg>\n"))
        // Every coordinate is a finite number inside the drawing.
        for bad in ["\"nan", "\"inf", "\"-inf", ",nan", ",inf", "nan ", "inf "] {
            #expect(!svg.contains(bad), "\(bad)")
        }
    }

    @Test func barsClampNegativeAndImplausibleCounts() {
        let lines = NodeCountsTable.bars(
            [("emqx@a", -5, nil), ("emqx@b", .nan, nil), ("emqx@c", 1e19, nil)],
            scale: 100,
            width: 10
        )
        #expect(lines.count == 3)
        #expect(lines[0].contains("░░░░░░░░░░"))
        #expect(lines[2].contains("██████████"))
    }

    @Test func maintenanceWindowsIgnoreDatesBeyondAnyCalendar() {
        let window = MaintenanceWindow(startMinute: 0, endMinute: 1440)
        #expect(window.contains(Date(timeIntervalSince1970: 1e300)) == false)
        #expect(window.contains(Date(timeIntervalSince1970: -1e300)) == false)
        #expect(window.contains(Self.now))
    }
}
