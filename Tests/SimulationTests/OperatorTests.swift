import AutorebalancerCore
import Foundation
import Logging
import Simulation
import TestSupport
import Testing

/// A simulated API, a scripted EMQX cluster bound to an EMQX object, and an operator stepped by hand on a clock
/// moved by hand.
struct OperatorHarness: Sendable {
    let api: SimulatedKubernetesAPI
    let client: SimulatedAPIClient
    let emqx: ScriptedEMQX
    let clock: ManualClock
    let operatorService: SimulatedEMQXOperator<ManualClock>
    let kind: EMQXBinding.Kind
    let name: String

    static let replicants = (0..<3).map { "emqx@10.0.0.\($0 + 1)" }

    static func with<T: Sendable>(
        kind: EMQXBinding.Kind = .emqx,
        nodes: [ScriptedEMQX.Node]? = nil,
        faults: OperatorFaults = OperatorFaults(),
        pollInterval: Duration = .zero,
        _ body: @Sendable (OperatorHarness) async throws -> T
    ) async throws -> T {
        let name = kind == .emqx ? "emqx" : "emqx-ee"
        let defaultNodes: [ScriptedEMQX.Node] =
            kind == .emqx
            ? [
                .init(name: "emqx@emqx-core-0.emqx-headless.default.svc.cluster.local", uptime: 9000),
                .init(name: replicants[0], role: "replicant", connections: 3400, liveConnections: 3333, uptime: 8000),
                .init(name: replicants[1], role: "replicant", connections: 3400, liveConnections: 3333, uptime: 7000),
                .init(name: replicants[2], role: "replicant", connections: 10, liveConnections: 0, uptime: 10),
            ]
            : (0..<4).map { index in
                .init(
                    name: "emqx-ee@emqx-ee-\(index).emqx-ee-headless.default.svc.cluster.local",
                    connections: index == 3 ? 0 : 3333,
                    liveConnections: index == 3 ? 0 : 3333,
                    uptime: 10_000 - index,
                    status: "Running"
                )
            }
        let emqx = ScriptedEMQX(nodes: nodes ?? defaultNodes, v4: kind == .emqxEnterprise)
        return try await emqx.withRunning { port in
            try await withSimulatedAPI { api, client in
                api.addEMQX(
                    EMQXBinding(
                        kind: kind,
                        name: name,
                        endpoints: emqx.endpoints(port: port),
                        username: emqx.username,
                        password: emqx.password
                    )
                )
                let clock = ManualClock()
                let operatorService = SimulatedEMQXOperator(
                    api: api,
                    clock: clock,
                    configuration: .init(
                        rebalancePollInterval: pollInterval,
                        emqxRefreshInterval: .zero,
                        faults: faults
                    ),
                    logger: Logger(label: "test-operator")
                )
                await operatorService.reconcileOnce()
                return try await body(
                    OperatorHarness(
                        api: api,
                        client: client,
                        emqx: emqx,
                        clock: clock,
                        operatorService: operatorService,
                        kind: kind,
                        name: name
                    )
                )
            }
        }
    }

    var rebalancesPath: String { "/apis/apps.emqx.io/v2beta1/namespaces/default/rebalances" }

    func create(
        _ rebalanceName: String,
        strategy: KubernetesJSON = ["connEvictRate": 10, "relConnThreshold": "1.1"],
        instance: String? = nil
    ) async throws {
        let answer = try await client.send(
            "POST",
            rebalancesPath,
            rebalanceBody(rebalanceName, instance: instance ?? name, kind: kind.rawValue, strategy: strategy)
        )
        #expect(answer.status == 201)
    }

    func rebalance(_ rebalanceName: String) throws -> Rebalance {
        try #require(api.rebalance(namespace: "default", name: rebalanceName))
    }

    func step(_ times: Int = 1) async {
        for _ in 0..<times { await operatorService.reconcileOnce() }
    }
}

@Suite struct OperatorTests {
    @Test func emqxStatusFollowsTheNodes() async throws {
        try await OperatorHarness.with { harness in
            let object = try #require(harness.api.object(.emqxes, namespace: "default", name: "emqx"))
            let resource = try object.decode(EMQXResource.self)
            let status = try #require(resource.status)
            #expect(status.conditions?.isTrue("Ready") == true)
            #expect(status.coreNodes?.map(\.node) == ["emqx@emqx-core-0.emqx-headless.default.svc.cluster.local"])
            #expect(status.replicantNodes?.map(\.node) == OperatorHarness.replicants)
            // `connections` counts sessions; `live_connections` the connected clients.
            #expect(
                status.replicantNodes?.first?.connections == 3400
                    && status.replicantNodes?.first?.liveConnections == 3333
            )
            #expect(status.coreNodes?.first?.edition == "Enterprise")
            #expect(status.replicantNodesStatus?.replicas == 3 && status.replicantNodesStatus?.readyReplicas == 3)
            #expect(status.coreNodesStatus?.currentRevision == status.coreNodesStatus?.updateRevision)

            harness.api.scaleEMQX(namespace: "default", name: "emqx", replicas: 1, replicantReplicas: 4)
            await harness.step()
            let scaled = try #require(harness.api.object(.emqxes, namespace: "default", name: "emqx")).decode(
                EMQXResource.self
            )
            #expect(scaled.status?.conditions?.isTrue("Ready") == false)
            #expect(scaled.status?.conditions?.isTrue("ReplicantNodesProgressing") == true)
            harness.api.scaleEMQX(namespace: "default", name: "emqx", replicas: 1, replicantReplicas: 3)

            harness.api.startEMQXUpgrade(namespace: "default", name: "emqx")
            await harness.step()
            let upgrading = try #require(harness.api.object(.emqxes, namespace: "default", name: "emqx")).decode(
                EMQXResource.self
            )
            #expect(upgrading.status?.conditions?.isTrue("Ready") == false)
            #expect(
                upgrading.status?.coreNodesStatus?.updateRevision != upgrading.status?.coreNodesStatus?.currentRevision
            )
            harness.api.finishEMQXUpgrade(namespace: "default", name: "emqx")
            await harness.step()
            let done = try #require(harness.api.object(.emqxes, namespace: "default", name: "emqx")).decode(
                EMQXResource.self
            )
            #expect(done.status?.conditions?.isTrue("Ready") == true)
        }
    }

    @Test func enterpriseStatusFollowsTheNodes() async throws {
        try await OperatorHarness.with(kind: .emqxEnterprise) { harness in
            let answer = try await harness.client.send(
                "GET",
                "/apis/apps.emqx.io/v1beta4/namespaces/default/emqxenterprises/emqx-ee"
            )
            let resource = try answer.body.decode(EmqxEnterpriseResource.self)
            #expect(resource.status?.conditions?.isTrue("Running") == true)
            #expect(resource.status?.emqxNodes?.count == 4)
            #expect(resource.status?.emqxNodes?.map(\.connections) == [3333, 3333, 3333, 0])
            #expect(resource.status?.blueGreenUpdateStatus == nil)
            harness.api.startEMQXUpgrade(namespace: "default", name: "emqx-ee")
            await harness.step()
            let upgrading = try #require(harness.api.object(.emqxEnterprises, namespace: "default", name: "emqx-ee"))
                .decode(EmqxEnterpriseResource.self)
            #expect(upgrading.status?.blueGreenUpdateStatus != nil)
            #expect(upgrading.status?.conditions?.isTrue("BlueGreenUpdating") == true)
            harness.api.setEMQXNotReady(namespace: "default", name: "emqx-ee", true)
            await harness.step()
            let notReady = try #require(harness.api.object(.emqxEnterprises, namespace: "default", name: "emqx-ee"))
                .decode(EmqxEnterpriseResource.self)
            #expect(notReady.status?.conditions?.condition("Running")?.status == "False")
            #expect(notReady.status?.conditions?.condition("Running")?.reason == "ClusterNotReady")
        }
    }

    @Test func aRebalanceRunsToCompleted() async throws {
        try await OperatorHarness.with { harness in
            try await harness.create("rb-ok")
            await harness.step()
            let processing = try harness.rebalance("rb-ok")
            #expect(processing.status?.phaseValue == .processing)
            #expect(processing.status?.startedTime != nil)
            #expect(processing.metadata.finalizers == ["apps.emqx.io/finalizer"])
            #expect(
                processing.status?.conditions?.first?.type == "Processing"
                    && processing.status?.conditions?.first?.status == "True"
            )

            let start = try #require(harness.emqx.state.withLock { $0.starts.first })
            #expect(start["nodes"] == .array(OperatorHarness.replicants.map { .string($0) }))  // replicants only
            #expect(start["conn_evict_rate"] == 10 && start["sess_evict_rate"] == 500)
            #expect(
                start["wait_takeover"] == 60 && start["wait_health_check"] == 60 && start["abs_conn_threshold"] == 1000
            )
            #expect(start["rel_conn_threshold"] == .number(1.1))

            await harness.step()
            let polled = try harness.rebalance("rb-ok")
            let state = try #require(polled.status?.rebalanceStates?.first)
            #expect(state.coordinatorNode == OperatorHarness.replicants[0])
            #expect(state.donors == [OperatorHarness.replicants[0], OperatorHarness.replicants[1]])
            #expect(state.recipients?.contains(OperatorHarness.replicants[2]) == true)
            #expect(state.connectionEvictionRate == 10)
            let raw = try #require(harness.api.object(.rebalances, namespace: "default", name: "rb-ok"))
            // Only the CRD's fields are kept.
            #expect(raw.value(atPath: "status.rebalanceStates")?.arrayValue?.first?["donor_conn_avg"] == nil)

            harness.emqx.finishRebalance()
            await harness.step()
            let completed = try harness.rebalance("rb-ok")
            #expect(completed.status?.phaseValue == .completed)
            #expect(completed.status?.completedTime != nil)
            #expect(completed.status?.rebalanceStates == nil)
            #expect(completed.status?.conditions?.map(\.type).first == "Completed")
            let events = harness.api.events(namespace: "default").filter { $0.involvedObject.name == "rb-ok" }
            #expect(events.allSatisfy { $0.source?.component == "rebalance-controller" && $0.reason == "Rebalance" })
            #expect(events.contains { $0.message == "rebalance completed" && $0.type == "Normal" })
            #expect(events.contains { $0.message == "rebalance is processing" })
        }
    }

    @Test func targetMissingNotReadyOrNotEnterpriseFailsAtOnce() async throws {
        try await OperatorHarness.with { harness in
            try await harness.create("rb-missing", instance: "nope")
            harness.api.putObject(
                .rebalances,
                namespace: "default",
                rebalanceBody("rb-ee-missing", instance: "nope", kind: "EmqxEnterprise")
            )
            await harness.step()
            #expect(try harness.rebalance("rb-missing").status?.failureMessage == "EMQX nope is not found")
            #expect(try harness.rebalance("rb-missing").status?.phaseValue == .failed)
            #expect(
                try harness.rebalance("rb-ee-missing").status?.failureMessage == "EMQX Enterprise nope is not found"
            )
            #expect(try harness.rebalance("rb-missing").status?.conditions?.first?.status == "True")

            harness.api.setEMQXNotReady(namespace: "default", name: "emqx", true)
            await harness.step()
            try await harness.create("rb-not-ready")
            await harness.step()
            #expect(try harness.rebalance("rb-not-ready").status?.failureMessage == "EMQX emqx is not ready")
            #expect(harness.emqx.state.withLock { $0.starts.isEmpty })
            let warning = harness.api.events(namespace: "default").first { $0.involvedObject.name == "rb-not-ready" }
            #expect(warning?.type == "Warning" && warning?.message == "rebalance failed")
        }
        let opensource: [ScriptedEMQX.Node] = [
            .init(name: "emqx@core-0", edition: "Opensource"), .init(name: "emqx@core-1", edition: "Opensource"),
        ]
        try await OperatorHarness.with(nodes: opensource) { harness in
            try await harness.create("rb-ce")
            await harness.step()
            #expect(
                try harness.rebalance("rb-ce").status?.failureMessage == "Only enterprise edition can be rebalanced"
            )
        }
    }

    @Test func startErrorsFailTheRebalance() async throws {
        try await OperatorHarness.with { harness in
            harness.emqx.state.withLock {
                $0.startAnswer = (400, #"{"code":"BAD_REQUEST","message":"nothing_to_balance"}"#)
            }
            try await harness.create("rb-400")
            await harness.step()
            #expect(
                try harness.rebalance("rb-400").status?.failureMessage
                    == "Failed to start rebalance: request api failed: 400 Bad Request"
            )
            // rel ≤ 1.0 passes admission and is refused by EMQX at start, as in a real cluster.
            try await harness.create("rb-rel", strategy: ["connEvictRate": 10, "relConnThreshold": "1.0"])
            await harness.step()
            #expect(try harness.rebalance("rb-rel").status?.phaseValue == .failed)
            #expect(
                try harness.rebalance("rb-rel").status?.failureMessage?.hasPrefix("Failed to start rebalance:") == true
            )
        }
        try await OperatorHarness.with(kind: .emqxEnterprise) { harness in
            harness.emqx.state.withLock { $0.startAnswer = (200, #"{"code":400,"message":"nothing_to_balance"}"#) }
            try await harness.create("rb-v4")
            await harness.step()
            #expect(
                try harness.rebalance("rb-v4").status?.failureMessage == "Failed to start rebalance: nothing_to_balance"
            )
        }
    }

    @Test func aSecondConcurrentRebalanceFailsWithAlreadyStarted() async throws {
        try await OperatorHarness.with(kind: .emqxEnterprise) { harness in
            try await harness.create("rb-first")
            await harness.step()
            try await harness.create("rb-second")
            await harness.step()
            #expect(try harness.rebalance("rb-first").status?.phaseValue == .processing)
            #expect(
                try harness.rebalance("rb-second").status?.failureMessage
                    == "Failed to start rebalance: already_started"
            )
            let start = try #require(harness.emqx.state.withLock { $0.starts.first })
            #expect(start["nodes"]?.arrayValue?.count == 4)  // EMQX 4: every node
        }
    }

    @Test(arguments: [true, false])
    func donorReadinessDropCanFalselyFailAnEMQX5Rebalance(faultOn: Bool) async throws {
        try await OperatorHarness.with(faults: OperatorFaults(readinessGateRemovesReady: faultOn)) { harness in
            try await harness.create("rb-gate")
            await harness.step()
            #expect(try harness.rebalance("rb-gate").status?.phaseValue == .processing)
            await harness.step()
            let status = try harness.rebalance("rb-gate").status
            let emqxRunning = harness.emqx.state.withLock { !$0.running.isEmpty }
            #expect(emqxRunning)  // EMQX keeps rebalancing either way
            if faultOn {
                #expect(status?.phaseValue == .failed)
                #expect(status?.failureMessage == "EMQX emqx is not ready")
            } else {
                #expect(status?.phaseValue == .processing)
            }
        }
    }

    @Test func anAbortedRebalanceShowsCompleted() async throws {
        try await OperatorHarness.with { harness in
            try await harness.create("rb-abort")
            await harness.step(2)
            #expect(
                try await harness.operatorService.abortRunningRebalance(namespace: "default", emqxName: "emqx") == 200
            )
            await harness.step()
            #expect(try harness.rebalance("rb-abort").status?.phaseValue == .completed)
        }
    }

    @Test func deletingAProcessingRebalanceStopsItOnEMQX() async throws {
        try await OperatorHarness.with { harness in
            try await harness.create("rb-del")
            await harness.step(2)
            let deleted = try await harness.client.send("DELETE", harness.rebalancesPath + "/rb-del")
            #expect(deleted.body.value(atPath: "metadata.deletionTimestamp") != nil)
            await harness.step()
            #expect(harness.emqx.state.withLock { $0.stops } == [OperatorHarness.replicants[0]])
            #expect(try await harness.client.send("GET", harness.rebalancesPath + "/rb-del").status == 404)
        }
    }

    @Test func theServiceLoopPollsOnItsClock() async throws {
        try await OperatorHarness.with { harness in
            let clock = SimulationClock(speed: 500)
            let service = SimulatedEMQXOperator(api: harness.api, clock: clock, logger: Logger(label: "loop"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                defer { group.cancelAll() }
                try await harness.create("rb-loop")
                // Polls the stored object; the bound (a minute of wall time) only ends a test whose operator is broken.
                func waitFor(_ phase: RebalancePhase) async throws {
                    let deadline = ContinuousClock.now.advanced(by: .seconds(60))
                    while try harness.rebalance("rb-loop").status?.phaseValue != phase, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
                try await waitFor(.processing)
                #expect(try harness.rebalance("rb-loop").status?.phaseValue == .processing)
                harness.emqx.finishRebalance()
                try await waitFor(.completed)
                #expect(try harness.rebalance("rb-loop").status?.phaseValue == .completed)
                let started = try #require(KubernetesTime.parse(try harness.rebalance("rb-loop").status?.startedTime))
                let completed = try #require(
                    KubernetesTime.parse(try harness.rebalance("rb-loop").status?.completedTime)
                )
                #expect(completed >= started)
            }
        }
    }

    @Test func processingRebalancesArePolledOnlyEveryPollInterval() async throws {
        // A 5 s interval on a clock that stands still: passes in quick succession do not poll again.
        try await OperatorHarness.with(kind: .emqxEnterprise, pollInterval: .seconds(5)) { harness in
            try await harness.create("rb-cadence")
            await harness.step()
            #expect(try harness.rebalance("rb-cadence").status?.phaseValue == .processing)
            let before = harness.emqx.state.withLock { $0.globalStatusCalls }
            await harness.step(3)
            #expect(harness.emqx.state.withLock { $0.globalStatusCalls } == before)
            // A change by someone else (a label patch) is a watch event: reconciled at once.
            _ = try await harness.client.send(
                "PATCH",
                harness.rebalancesPath + "/rb-cadence",
                ["metadata": ["labels": ["seen": "yes"]]],
                contentType: "application/merge-patch+json"
            )
            await harness.step()
            #expect(harness.emqx.state.withLock { $0.globalStatusCalls } == before + 1)
            // Once the interval has passed, the next pass polls again.
            await harness.step()
            #expect(harness.emqx.state.withLock { $0.globalStatusCalls } == before + 1)
            harness.clock.advance(by: .seconds(5))
            await harness.step()
            #expect(harness.emqx.state.withLock { $0.globalStatusCalls } == before + 2)
        }
    }

    @Test func aCompletedRebalanceTouchedWhileNotReadyIsRewrittenFailed() async throws {
        try await OperatorHarness.with { harness in
            try await harness.create("rb-history")
            await harness.step()
            harness.emqx.finishRebalance()
            await harness.step()
            #expect(try harness.rebalance("rb-history").status?.phaseValue == .completed)
            harness.api.setEMQXNotReady(namespace: "default", name: "emqx", true)
            await harness.step()
            // Not touched: stays Completed.
            #expect(try harness.rebalance("rb-history").status?.phaseValue == .completed)
            _ = try await harness.client.send(
                "PATCH",
                harness.rebalancesPath + "/rb-history",
                ["metadata": ["labels": ["outcome": "effective"]]],
                contentType: "application/merge-patch+json"
            )
            await harness.step()
            let status = try harness.rebalance("rb-history").status
            #expect(status?.phaseValue == .failed && status?.failureMessage == "EMQX emqx is not ready")
            #expect(status?.completedTime != nil)
            // Deleting it while EMQX is not ready leaves it Terminating; once Ready, the finalizer goes.
            _ = try await harness.client.send("DELETE", harness.rebalancesPath + "/rb-history")
            await harness.step(2)
            #expect(try await harness.client.send("GET", harness.rebalancesPath + "/rb-history").status == 200)
            harness.api.setEMQXNotReady(namespace: "default", name: "emqx", false)
            await harness.step()
            #expect(try await harness.client.send("GET", harness.rebalancesPath + "/rb-history").status == 404)
        }
    }

    @Test func endpointsCanComeFromAProvider() async throws {
        let emqx = ScriptedEMQX(nodes: [.init(name: "emqx@core-0"), .init(name: "emqx@core-1")])
        try await emqx.withRunning { port in
            try await withSimulatedAPI { api, _ in
                api.addEMQX(
                    EMQXBinding(
                        kind: .emqx,
                        name: "emqx",
                        endpoints: [],
                        username: emqx.username,
                        password: emqx.password
                    )
                )
                let operatorService = SimulatedEMQXOperator(
                    api: api,
                    clock: SimulationClock(speed: 1000),
                    configuration: .init(emqxRefreshInterval: .zero)
                )
                await operatorService.reconcileOnce()
                // No endpoints: no nodes answer, the cluster is not Ready.
                #expect(
                    try #require(api.object(.emqxes, namespace: "default", name: "emqx")).decode(EMQXResource.self)
                        .status?.conditions?.isTrue("Ready") == false
                )
                let endpoints = Dictionary(
                    uniqueKeysWithValues: emqx.endpoints(port: port).map { ($0.node, $0.baseURL) }
                )
                api.setEMQXEndpointProvider(namespace: "default", name: "emqx") { endpoints }
                await operatorService.reconcileOnce()
                let status = try #require(api.object(.emqxes, namespace: "default", name: "emqx")).decode(
                    EMQXResource.self
                ).status
                #expect(status?.conditions?.isTrue("Ready") == true)
                #expect(status?.coreNodes?.map(\.node) == ["emqx@core-0", "emqx@core-1"])
            }
        }
    }
}
