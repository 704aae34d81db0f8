import AutorebalancerCore
import Foundation
import Testing

/// The backtest's options become one checked request; each problem is a usage error naming what to fix.
struct BacktestRequestTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func savedFiles() throws {
        let request = try BacktestRequest(
            .init(policy: "p.yaml", connections: "c.json", sessions: "s.json", step: "30s"),
            now: Self.now
        )
        #expect(request.history == .files(connections: "c.json", sessions: "s.json"))
        #expect(request.step == 30)
        #expect(request.lookback == 300, "the default lookback is 5m")
        #expect(request.cluster == nil)
    }

    @Test func liveFromPrometheusAndFromAConfig() throws {
        let live = try BacktestRequest(
            .init(
                policy: "p.yaml",
                prometheus: "http://prom:9090",
                cluster: "emqx/emqx-ee",
                start: "now-1h",
                step: "1m"
            ),
            now: Self.now
        )
        #expect(
            live.history
                == .live(
                    prometheus: "http://prom:9090",
                    config: nil,
                    range: BacktestRange(start: Self.now.addingTimeInterval(-3600), end: Self.now, step: 60)
                )
        )
        #expect(live.cluster == ClusterReference(namespace: "emqx", name: "emqx-ee"))

        // A configuration may name the cluster itself.
        let configured = try BacktestRequest(
            .init(policy: "p.yaml", config: "agent.yaml", start: "now-1d", end: "now-1h", step: "5m", lookback: "10m"),
            now: Self.now
        )
        #expect(
            configured.history
                == .live(
                    prometheus: nil,
                    config: "agent.yaml",
                    range: BacktestRange(
                        start: Self.now.addingTimeInterval(-86_400),
                        end: Self.now.addingTimeInterval(-3600),
                        step: 300
                    )
                )
        )
        #expect(configured.lookback == 600)
    }

    @Test(arguments: [
        (BacktestRequest.Options(connections: "c.json"), "give --policy <file>"),
        (.init(policy: "p", connections: "c.json", lookback: "soon"), "--lookback soon: expected a positive duration"),
        (.init(policy: "p"), "give --connections <file>"),
        (.init(policy: "p", connections: "c.json", end: "now"), "--end only applies with --prometheus or --config"),
        (
            .init(policy: "p", sessions: "s.json", config: "a.yaml", start: "now-1h", step: "1m"),
            "use either --connections/--sessions (saved files) or --prometheus/--config (live), not both"
        ),
        (
            .init(policy: "p", prometheus: "prom:9090", cluster: "a/b", start: "now-1h", step: "1m"),
            "--prometheus prom:9090: expected the Prometheus server's base URL"
        ),
        (
            .init(policy: "p", prometheus: "http://prom", cluster: "a/b", step: "1m"),
            "--prometheus needs --start <time>"
        ),
        (.init(policy: "p", config: "a.yaml", start: "now-1h"), "--config needs --step <duration>"),
        (
            .init(policy: "p", prometheus: "http://prom", start: "now-1h", step: "1m"),
            "--prometheus needs --cluster <namespace/name>"
        ),
        (
            .init(policy: "p", prometheus: "http://prom", cluster: "a/b", start: "now", end: "now-1h", step: "1m"),
            "--start now must be before --end now-1h"
        ),
    ])
    func problems(options: BacktestRequest.Options, message: String) {
        let error = #expect(throws: BacktestArguments.Problem.self) { try BacktestRequest(options, now: Self.now) }
        #expect(error?.description.hasPrefix(message) == true, "\(error?.description ?? "")")
    }
}
