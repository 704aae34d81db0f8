import AutorebalancerCore
import Foundation
import Testing

@testable import Agent

/// A fallback list where the first sources hang: every source gets its own budget, so the last one is still tried,
/// the failures name their source, and the agent is ready because the cycle produced a snapshot.
struct FallbackBudgetTests {
    @Test func hangingSourcesDoNotUseUpTheTimeOfTheNext() async throws {
        let outcome = try await HostileWorld.with { world in
            try await world.cycle([
                HangingSource(kind: "prometheus", budget: .milliseconds(300)),
                HangingSource(kind: "emqx", budget: .milliseconds(300)),
                AnsweringSource(
                    kind: "status",
                    nodes: HostileWorld.nodes.map {
                        NodeObservation(name: $0, liveConnections: 100, sessions: 100, observedAt: HostileWorld.now)
                    }
                ),
            ])
        }
        #expect(outcome.report.sources.map(\.source) == ["prometheus", "emqx", "status"])
        #expect(
            outcome.sourceErrors == [
                "the prometheus source did not answer within its budget of 300ms",
                "the emqx source did not answer within its budget of 300ms",
            ]
        )
        #expect(outcome.report.errors.isEmpty, "\(outcome.report.errors)")
        #expect(outcome.report.snapshot?.nodes.map(\.liveConnections) == [100, 100])
        #expect(outcome.log.contains("metric source failed") && outcome.log.contains("source=prometheus"))
        // Ready: the cycle produced a snapshot, though two sources of the list never answered.
        #expect(outcome.readiness.ok, "\(outcome.readiness.reasons)")
        #expect(outcome.rebalances.isEmpty)
    }

    @Test func aCycleWithoutASnapshotIsNotReadyAndSaysWhy() async throws {
        let outcome = try await HostileWorld.with { world in
            try await world.cycle([HangingSource(kind: "prometheus", budget: .milliseconds(200))])
        }
        #expect(!outcome.readiness.ok)
        #expect(
            outcome.readiness.reasons == [
                "the last evaluation cycle produced no snapshot: every metric source of default/emqx failed: prometheus: the prometheus source did not answer within its budget of 200ms"
            ]
        )
    }

    /// The control: an imbalance the sources really report does create a Rebalance, so the hostile cases' "no
    /// Rebalance" means something.
    @Test func aRealImbalanceCreatesTheRebalance() async throws {
        let outcome = try await HostileWorld.with { world in
            try await world.cycle([
                AnsweringSource(
                    kind: "status",
                    nodes: [
                        NodeObservation(name: "emqx@n0", liveConnections: 1000, observedAt: HostileWorld.now),
                        NodeObservation(name: "emqx@n1", liveConnections: 0, observedAt: HostileWorld.now),
                    ]
                )
            ])
        }
        #expect(outcome.rebalances.count == 1, "\(outcome.report.errors) \(outcome.log)")
    }
}
