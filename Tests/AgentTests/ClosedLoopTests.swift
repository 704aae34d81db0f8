import Act
import AutorebalancerCore
import Foundation
import Kubernetes
import TestSupport
import Testing

@testable import Agent

/// The closed loop on the in-memory Kubernetes API and a manual clock: only what the actuator confirmed counts.
@Suite(.timeLimit(.minutes(2))) struct ClosedLoopTests {
    typealias H = LoopHarness

    /// A 403 on create for two minutes, then allowed: retried with a growing, capped backoff, no cooldown meanwhile,
    /// created once the fault is gone, counted, evented and alerted.
    @Test func aFailedCreateIsRetriedWithBackoffAndCreatedOnceTheFaultClears() async throws {
        let h = try H(
            policies: [H.policy()],
            createRetry: CreateRetryPolicy(initialBackoff: 15, maximumBackoff: 60, escalateAfter: 3)
        )
        h.api.inject(
            .createRebalance,
            .error(InMemoryKubernetesAPI.forbidden("create", "rebalances", namespace: "default"))
        )
        var reports: [ClusterCycleReport] = []
        var alertKinds: [[String]] = []
        for cycle in 0..<20 {
            // The first create is at 15 s; the RBAC rule is added two minutes later.
            if cycle * 15 == 135 { h.api.clear(.createRebalance) }
            let report = await h.tick()
            reports += report.clusters
            alertKinds.append(h.alerts.activeAlerts(report).map(\.kind.alertname))
            h.clock.advance(by: .seconds(15))
        }
        // Attempts grow 15 → 30 → 60 s and stay capped at 60 s; the first after the fault is gone creates it.
        #expect(h.createAttempts == [15, 30, 60, 120, 180])
        #expect(h.api.storedRebalances.count == 1)
        let failing = reports.filter { h.offset($0.at) >= 15 && h.offset($0.at) < 180 }
        for report in failing {
            let skew = try #require(report.evaluation("skew"))
            #expect(skew.state == .firing, "at \(h.offset(report.at))s")
            #expect(skew.whyNot?.reason == .createFailed)
            #expect(
                skew.whyNot?.detail.hasPrefix(
                    "forbidden: forbidden (HTTP 403): the agent's service account may not create"
                ) == true
            )
            #expect(report.decisions.isEmpty, "a failed create is no decision")
        }
        let created = try #require(reports.first { h.offset($0.at) == 180 })
        #expect(created.evaluation("skew")?.state == .acted)
        #expect(created.action?.created == true)
        #expect(reports.filter { h.offset($0.at) > 180 }.allSatisfy { $0.evaluation("skew")?.state == .coolingDown })
        // Counted per failure class; the Event once three failed in a row; the agent's alert while they keep failing.
        let text = h.metrics.render()
        #expect(
            text.contains(
                #"emqx_autorebalancer_actions_failed_total{cluster="default/emqx-ee",rule="skew",reason="forbidden"} 4"#
            )
        )
        #expect(
            text.contains(#"emqx_autorebalancer_rebalances_created_total{cluster="default/emqx-ee",rule="skew"} 1"#)
        )
        let events = h.api.storedEvents.filter { $0.reason == "RebalanceCreateFailed" }
        #expect(events.count == 1)
        #expect(events.first?.count == 2, "the 3rd and 4th failures, aggregated")
        #expect(events.first?.message?.contains("keeps failing (forbidden)") == true)
        let alerting = alertKinds.indices.filter { alertKinds[$0].contains("EMQXRebalanceCreateFailing") }.map {
            $0 * 15
        }
        #expect(alerting == Array(stride(from: 60, to: 180, by: 15)))
    }

    /// Three failed creates leave the daily limit alone: with one rebalance a day allowed, the create after them
    /// still happens.
    @Test func threeFailuresDoNotTouchTheDailyLimit() async throws {
        let h = try H(
            policies: [H.policy(maxPerDay: 1)],
            createRetry: CreateRetryPolicy(initialBackoff: 15, maximumBackoff: 15)
        )
        h.api.inject(
            .createRebalance,
            .error(KubernetesError(code: .invalid, request: nil, statusCode: 422, detail: "admission webhook denied"))
        )
        let reports = await h.run(cycles: 8) { cycle in
            if cycle == 4 { h.api.clear(.createRebalance) }
        }
        #expect(h.createAttempts == [15, 30, 45, 60])
        #expect(h.api.storedRebalances.count == 1)
        #expect(!reports.contains { $0.evaluation("skew")?.whyNot?.reason == .dailyLimit && h.offset($0.at) <= 60 })
        #expect(
            reports.first { h.offset($0.at) == 30 }?.evaluation("skew")?.whyNot?.detail.hasPrefix("invalid:") == true
        )
        #expect(h.metrics.render().contains(#"reason="invalid"} 3"#))
    }

    /// A follower reports what it would do, cycle after cycle, and never enters `acted`: no cooldown starts, so the
    /// cycle it becomes the leader it creates the Rebalance.
    @Test func aFollowerNeverActs() async throws {
        let h = try H(policies: [H.policy()])
        h.leader.withLock { $0 = false }
        let following = await h.run(cycles: 8)
        #expect(h.createAttempts.isEmpty)
        for report in following.dropFirst() {
            #expect(report.evaluation("skew")?.state == .firing)
            #expect(report.evaluation("skew")?.whyNot?.reason == .notLeader)
            #expect(report.action?.result == .notMade(.notLeader(wouldCreate: report.action?.object?.description)))
        }
        #expect(h.metrics.render().contains("emqx_autorebalancer_leader 0"))
        h.leader.withLock { $0 = true }
        let leading = await h.tick()
        #expect(leading.clusters.first?.evaluation("skew")?.state == .acted)
        #expect(h.api.storedRebalances.count == 1)
    }

    /// A dry run writes nothing, never enters `acted`, and says so in the report and the `dry_run` gauge.
    @Test func aDryRunNeverActs() async throws {
        let h = try H(policies: [H.policy()], dryRun: true)
        let reports = await h.run(cycles: 6)
        #expect(h.createAttempts.isEmpty)
        #expect(
            h.api.calls.allSatisfy {
                ![.createRebalance, .patchRebalance, .deleteRebalance, .createEvent].contains($0.verb)
            }
        )
        for report in reports.dropFirst() {
            #expect(report.evaluation("skew")?.state == .firing)
            #expect(report.evaluation("skew")?.whyNot?.reason == .dryRun)
            #expect(report.action?.object?.name.hasPrefix("emqx-ee-skew-") == true)
        }
        #expect(h.metrics.render().contains("emqx_autorebalancer_dry_run 1"))
        #expect(!h.metrics.render().contains(#"reason="dry-run""#), "a dry run is not a blocked decision")
    }

    /// Two policies on one cluster: exactly one acts; only it cools down; the other is held back by the running
    /// rebalance and its cooldown, never `acted` or `cooling-down`.
    @Test func twoPoliciesOnOneClusterExactlyOneActs() async throws {
        let h = try H(policies: [H.policy(name: "first", rule: "a"), H.policy(name: "second", rule: "b")])
        let reports = await h.run(cycles: 10) { cycle in
            if cycle == 4, let name = h.api.storedRebalances.first?.metadata.name {
                h.api.setStatus(
                    name,
                    RebalanceStatus(phase: .completed, completedTime: KubernetesTime.format(h.clock.date))
                )
            }
        }
        #expect(h.api.storedRebalances.count == 1)
        #expect(h.createAttempts == [15])
        let acting = try #require(reports.first { h.offset($0.at) == 15 })
        #expect(acting.evaluation("a", policy: "first")?.state == .acted)
        #expect(acting.evaluation("b", policy: "second")?.state == .firing)
        #expect(acting.evaluation("b", policy: "second")?.whyNot?.reason == .otherRuleActing)
        #expect(
            acting.evaluation("b", policy: "second")?.whyNot?.detail.contains("rule a of policy first acts") == true
        )
        for report in reports where h.offset(report.at) > 15 {
            #expect(report.evaluation("a", policy: "first")?.state == .coolingDown)
            let b = report.evaluation("b", policy: "second")
            #expect(b?.state == .firing)
            #expect([.rebalanceRunning, .cooldown].contains(b?.whyNot?.reason))
        }
        #expect(reports.last?.policies.first { $0.policy == "second" }?.result.state.confirmed.isEmpty == true)
    }

    /// The first source fails, the second answers: its numbers are used; when both fail, nothing is decided.
    @Test func sourcesFallBackInOrder() async throws {
        let h = try H(policies: [H.policy()])
        let clock = h.clock
        let answers = CountsSource(kind: "emqx", counts: { H.imbalanced }, now: { clock.date })
        h.sources.withLock { $0 = [CountsSource(kind: "prometheus", counts: { nil }, now: { clock.date }), answers] }
        let fellBack = await h.run(cycles: 2)
        #expect(fellBack.last?.sources.map(\.source) == ["prometheus", "emqx"])
        #expect(fellBack.last?.sources.first?.error == "connection refused")
        #expect(fellBack.last?.snapshot?.node(named: "emqx@n0")?.liveConnections == 3333)
        #expect(fellBack.last?.evaluation("skew")?.state == .acted)

        h.sources.withLock { $0 = [CountsSource(kind: "prometheus", counts: { nil }, now: { clock.date })] }
        let down = await h.tick().clusters[0]
        #expect(down.evaluation("skew")?.whyNot?.reason == .missingData)
        #expect(down.errors.contains { $0.hasPrefix("every metric source of default/emqx-ee failed") })
        #expect(
            h.metrics.render().contains(
                #"emqx_autorebalancer_source_up{cluster="default/emqx-ee",source="prometheus"} 0"#
            )
        )
    }

    /// Hundreds of clusters do not all run their cycle at once (each holds its frames, object and readings while it
    /// runs): at most `concurrentClusters` observe together, and every cluster is still observed in the cycle.
    @Test func clusterCyclesRunAtMostConcurrentClustersAtOnceAndAllAreObserved() async throws {
        let names = (0..<40).map { "emqx-\($0)" }
        let h = try H(policies: [H.policy()], clusters: names, dryRun: true)
        let observing = Shared((now: 0, most: 0))
        let clock = h.clock
        h.sources.withLock { $0 = [InFlightSource(observing: observing, now: { clock.date })] }
        let report = await h.tick()
        #expect(report.clusters.count == names.count)
        #expect(
            report.clusters.allSatisfy { $0.snapshot?.node(named: "emqx@n0")?.liveConnections == 3333 },
            "\(report.clusters.flatMap(\.errors))"
        )
        let most = observing.withLock { $0.most }
        // Fewer than all 40 at once: the bound is real (every cycle sleeps, so without it all would overlap).
        #expect(
            most >= 1 && most <= EvaluationLoop<ManualClock>.concurrentClusters && most < names.count,
            "\(most) observing at once"
        )
    }

    /// A cluster whose API never answers is cut off at its cycle budget (the cluster timeout plus its sources'
    /// budgets: here 20 s + 20 s); the other acts in the same cycle, before the budget passes.
    @Test func aClusterThatTimesOutDoesNotDelayTheOthers() async throws {
        let h = try H(policies: [H.policy()], clusters: ["emqx-ee", "stuck"], clusterTimeout: .seconds(20))
        _ = await h.tick()
        h.clock.advance(by: .seconds(15))
        h.api.inject(.getEMQX, .noAnswer, name: "stuck")
        async let tick = h.loop.tick(at: h.clock.date)
        // The healthy cluster acts while the stuck one waits: its Rebalance exists before any time passes.
        while h.api.storedRebalances.isEmpty { await Task.yield() }
        #expect(h.api.storedRebalances.first?.spec.instanceName == "emqx-ee")
        await h.clock.sleepers(atLeast: 1)
        // Both cycles' budgets end at the same instant: advance only once the healthy cycle has finished (its budget's
        // sleep gone, the stuck cycle's left), or the advance would cut it off too. Bounded, so it never hangs.
        let settled = ContinuousClock.now.advanced(by: .seconds(30))
        while h.clock.pendingSleeps > 1, ContinuousClock.now < settled { try await Task.sleep(for: .milliseconds(5)) }
        h.clock.advance(by: .seconds(40))
        let report = await tick
        let healthy = try #require(report.clusters.first { $0.cluster.name == "emqx-ee" })
        let stuck = try #require(report.clusters.first { $0.cluster.name == "stuck" })
        #expect(healthy.evaluation("skew")?.state == .acted, "\(healthy.errors) \(healthy.sources)")
        #expect(
            stuck.errors == [
                "cycle of default/stuck did not finish within its budget of 40s (Kubernetes reads or writes hang); skipped"
            ]
        )
    }
}

/// Reports the harness's imbalanced counts after a short real pause, counting how many observe at once.
private struct InFlightSource: MetricSource {
    let kind = "prometheus"
    let observing: Shared<(now: Int, most: Int)>
    let now: @Sendable () -> Date

    func observe(_ request: ObservationRequest) async throws -> SourceObservation {
        observing.withLock { state in
            state.now += 1
            state.most = max(state.most, state.now)
        }
        defer { observing.withLock { $0.now -= 1 } }
        try await Task.sleep(for: .milliseconds(20))
        let at = now()
        return SourceObservation(
            nodes: zip(LoopHarness.nodes, LoopHarness.imbalanced).map { name, live in
                NodeObservation(
                    name: name,
                    role: .core,
                    running: true,
                    liveConnections: live,
                    connections: live,
                    observedAt: at
                )
            }
        )
    }
}
