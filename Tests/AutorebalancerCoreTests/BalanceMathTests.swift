import Testing

@testable import AutorebalancerCore

@Suite struct BalanceMathTests {
    typealias Node = BalanceMath.NodeCounts

    static func nodes(_ live: [Double], sessions: [Double]? = nil) -> [Node] {
        live.enumerated().map { index, value in
            Node(name: "n\(index)", liveConnections: value, sessions: sessions?[index])
        }
    }

    @Test func aNodeExactlyAtTheAverageIsADonor() {
        // mean = 20: n1 is exactly at the average.
        let (donors, recipients) = BalanceMath.partition(Self.nodes([10, 20, 30]))
        #expect(donors.map(\.name) == ["n1", "n2"])
        #expect(recipients.map(\.name) == ["n0"])
        let evaluation = BalanceMath.evaluateConnections(
            Self.nodes([10, 20, 30]),
            threshold: .init(absolute: 5, relative: 1.1)
        )
        #expect(evaluation.donorAverage == 25)
        #expect(evaluation.recipientAverage == 10)
        // 25 <= 10+5 fails, 25 <= 11 fails.
        #expect(evaluation.verdict == .imbalanced)
    }

    @Test func emptyAndOneNodeClustersHaveNothingToBalance() {
        let empty = BalanceMath.evaluateConnections([], threshold: .emqxDefault)
        #expect(empty.verdict == .nothingToBalance)
        #expect(empty.formula == "no nodes (nothing to balance)")
        let one = BalanceMath.evaluateConnections(Self.nodes([500]), threshold: .emqxDefault)
        #expect(one.verdict == .nothingToBalance)
        #expect(one.donors == ["n0"])
        #expect(one.recipients == [])
        #expect(one.formula == "one node (nothing to balance)")
        #expect(!BalanceMath.needsRebalance(connections: one, sessions: nil))
    }

    @Test func allZeroAndAllEqualClustersHaveNothingToBalance() {
        let zero = BalanceMath.evaluateConnections(Self.nodes([0, 0, 0]), threshold: .emqxDefault)
        #expect(zero.verdict == .nothingToBalance)
        #expect(zero.donors.count == 3)
        #expect(zero.formula == "all 3 nodes at the average 0 (nothing to balance)")
        let equal = BalanceMath.evaluateConnections(Self.nodes([7, 7]), threshold: .emqxDefault)
        #expect(equal.formula == "all 2 nodes at the average 7 (nothing to balance)")
    }

    @Test func sessionsImbalancedWhileConnectionsBalanced() throws {
        // Live connections 1000/1000/900: mean 966.7, donors n0,n1 (1000), recipient n2 (900).
        // Connections: 1000 <= 900+200 → balanced by abs (1000 <= 990 fails rel).
        // Sessions on the same partition: avg(5000,5000)=5000 vs 900: 5000 > 1100 and > 990 → imbalanced.
        let nodes = Self.nodes([1000, 1000, 900], sessions: [5000, 5000, 900])
        let threshold = BalanceThreshold(absolute: 200, relative: 1.1)
        let connections = BalanceMath.evaluateConnections(nodes, threshold: threshold)
        let sessions = try #require(BalanceMath.evaluateSessions(nodes, threshold: threshold))
        #expect(connections.verdict == .balancedByAbsolute)
        #expect(connections.formula == "avg(1000,1000)=1000.0 <= 900+200=1100.0 (balanced by abs)")
        #expect(sessions.verdict == .imbalanced)
        #expect(sessions.donors == ["n0", "n1"])
        #expect(sessions.recipientValues == [900])
        #expect(sessions.formula == "avg(5000,5000)=5000.0 > 900*1.1=990.0 and > 900+200=1100.0 (imbalanced)")
        #expect(BalanceMath.needsRebalance(connections: connections, sessions: sessions))
    }

    @Test func sessionsUnknownOnAnyNodeGiveNoSessionEvaluation() {
        let nodes = [
            Node(name: "a", liveConnections: 1, sessions: 1), Node(name: "b", liveConnections: 2, sessions: nil),
        ]
        #expect(BalanceMath.evaluateSessions(nodes, threshold: .emqxDefault) == nil)
    }

    @Test func seedScenarioBeforeAndAfterTheRebalance() {
        let threshold = BalanceThreshold(absolute: 100, relative: 1.1)
        let before = BalanceMath.evaluateConnections(Self.nodes([3333, 3333, 3334, 0]), threshold: threshold)
        #expect(before.verdict == .imbalanced)
        #expect(before.donors == ["n0", "n1", "n2"])
        #expect(before.recipients == ["n3"])
        #expect(before.formula == "avg(3333,3333,3334)=3333.3 > 0*1.1=0.0 and > 0+100=100.0 (imbalanced)")
        #expect(BalanceMath.needsRebalance(connections: before, sessions: nil))

        let after = BalanceMath.evaluateConnections(Self.nodes([2553, 2553, 2554, 2340]), threshold: threshold)
        #expect(after.verdict == .balancedByRelative)
        #expect(after.formula == "avg(2553,2553,2554)=2553.3 <= 2340*1.1=2574.0 (balanced by rel)")
        #expect(!BalanceMath.needsRebalance(connections: after, sessions: nil))
    }

    @Test func boundariesAreInclusive() {
        // avg(donors) exactly equals recipients + abs, and exactly recipients * rel.
        let byAbs = BalanceMath.evaluateConnections(
            Self.nodes([110, 100]),
            threshold: .init(absolute: 10, relative: 1.0)
        )
        #expect(byAbs.verdict == .balancedByAbsolute)
        let both = BalanceMath.evaluateConnections(
            Self.nodes([110, 100]),
            threshold: .init(absolute: 10, relative: 1.1)
        )
        #expect(both.verdict == .balancedByBoth)
        #expect(both.formula == "avg(110)=110.0 <= 100+10=110.0 and <= 100*1.1=110.0 (balanced by abs and rel)")
        #expect(BalanceMath.within(110, 100, .init(absolute: 10, relative: 1)))
        #expect(!BalanceMath.within(110.5, 100, .init(absolute: 10, relative: 1.1)))
    }

    @Test func excessesSayByHowMuchEachTestFails() throws {
        let evaluation = BalanceMath.evaluateConnections(
            Self.nodes([3333, 3333, 3334, 0]),
            threshold: .init(absolute: 100, relative: 1.1)
        )
        let absoluteExcess = try #require(evaluation.absoluteExcess)
        let relativeExcess = try #require(evaluation.relativeExcess)
        #expect(abs(absoluteExcess - (10000.0 / 3 - 100)) < 1e-9)
        #expect(abs(relativeExcess - 10000.0 / 3) < 1e-9)
    }

    @Test(arguments: [
        (0.0, "0"), (12.0, "12"), (-3.0, "-3"), (1.1, "1.1"), (2553.3333333, "2553.333"), (0.5, "0.5"),
        (1e16, "1e+16"), (-2.5e18, "-2.5e+18"), (1.5e300, "1.5e+300"), (123456789.25, "123456789.25"),
    ])
    func formatNumbers(value: Double, text: String) {
        #expect(BalanceEvaluation.format(value) == text)
    }

    @Test(arguments: [
        (2574.0000000000005, "2574.0"), (2553.3333333, "2553.3"), (0.0, "0.0"), (-0.06, "-0.1"), (1e20, "1e+20"),
        (-1e19, "-1e+19"),
    ])
    func formatOneDecimal(value: Double, text: String) {
        #expect(BalanceEvaluation.format1(value) == text)
    }

    @Test func specialValuesFormat() {
        #expect(BalanceEvaluation.format(.nan) == "NaN")
        #expect(BalanceEvaluation.format(-.infinity) == "-Inf")
        #expect(BalanceEvaluation.format1(.infinity) == "+Inf")
    }
}
