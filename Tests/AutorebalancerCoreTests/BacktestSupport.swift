import Foundation

@testable import AutorebalancerCore

/// Small builders for hand-made `query_range` answers and backtest policies.
enum BacktestFixture {
    static let t0 = Date(timeIntervalSince1970: 1_795_168_800)  // 2026-11-20T10:00:00Z
    static let step: TimeInterval = 30
    static let cluster = ClusterReference(namespace: "default", name: "emqx-ee")

    static func time(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    /// A `query_range` body: one series per entry, `values` as `[unix seconds, "text"]`.
    static func body(
        _ series: [(labels: [String: String], values: [(Double, Any)])],
        resultType: String = "matrix"
    ) -> Data {
        let result: [[String: Any]] = series.map { entry in
            ["metric": entry.labels, "values": entry.values.map { [$0.0, $0.1] as [Any] }]
        }
        let root: [String: Any] = ["status": "success", "data": ["resultType": resultType, "result": result]]
        return try! JSONSerialization.data(withJSONObject: root)
    }

    /// A matrix of `nodes` over `steps` steps of 30 s from `t0`; `value(node, step)` is the count, `nil` for no sample.
    static func matrix(nodes: Int, steps: Int, label: String = "node", _ value: (Int, Int) -> Double?) -> Data {
        body(
            (0..<nodes).map { node in
                let values: [(Double, Any)] = (0..<steps).compactMap { i in
                    value(node, i).map {
                        (t0.timeIntervalSince1970 + Double(i) * step, BalanceEvaluation.format($0) as Any)
                    }
                }
                return (labels: [label: "n\(node)", "namespace": "default", "cluster": "emqx-ee"], values: values)
            }
        )
    }

    static func series(_ data: Data, file: String = "connections.json") throws -> [BacktestSeries] {
        try BacktestMatrix.series(from: data, file: file, nodeLabel: nil)
    }

    static let threshold = BalanceThreshold(absolute: 1000, relative: 1.3)

    static func rule(
        _ name: String,
        _ trigger: Trigger,
        forDuration: TimeInterval = 60,
        cooldown: TimeInterval = 900,
        connections: BalanceThreshold? = threshold,
        sessions: BalanceThreshold? = nil
    ) -> Rule {
        Rule(
            name: name,
            trigger: trigger,
            triggerWindow: 900,
            nearZeroConnections: 10,
            connections: connections,
            sessions: sessions,
            forDuration: forDuration,
            cooldown: cooldown,
            minConnections: 1000,
            minNodes: 2,
            strategy: StrategyTemplate(connEvictRate: .fixed(10), absConnThreshold: 1000, relConnThreshold: "1.1")
        )
    }

    static func policy(_ rules: [Rule]) -> Policy {
        Policy(name: "backtest", evaluationInterval: 30, staleness: 60, rules: rules)
    }

    static func run(
        _ policy: Policy,
        connections: Data,
        sessions: Data? = nil,
        step: TimeInterval? = nil
    ) throws -> BacktestRunner.Report {
        BacktestRunner.run(
            policy: policy,
            connections: try series(connections),
            sessions: try sessions.map { try series($0, file: "sessions.json") },
            options: .init(cluster: cluster, step: step)
        )
    }

    /// Seconds since `t0` of each record.
    static func offsets(_ records: [DecisionRecord]) -> [Double] {
        records.map { $0.time.timeIntervalSince(t0) }
    }
}

/// The shared fixtures next to the repository (`../shared/fixtures`), absent in a user's clone.
enum BacktestSharedFixtures {
    static let directory: URL? = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                let fixtures = url.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
                return FileManager.default.fileExists(atPath: fixtures.path) ? fixtures : nil
            }
            url = url.deletingLastPathComponent()
        }
        return nil
    }()

    static var available: Bool { directory != nil }
}
