import AutorebalancerCore
import Foundation
import Logging
import Simulation
import Testing

/// The operator against the simulated EMQX cluster, over HTTP: the product's seed scenario, driven by a created
/// Rebalance, ends on the seed article's figures.
@Suite struct OperatorSeedScenarioTests {
    @Test func aCreatedRebalanceTakesTheSeedClusterToTheArticlesFigures() async throws {
        let cluster = SimulatedEMQXCluster(configuration: .seedScenario(), logger: Logger(label: "seed-emqx"))
        try await cluster.start()
        do {
            try await withSimulatedAPI { api, client in
                let credentials = cluster.configuration.credentials
                api.addEMQX(
                    EMQXBinding(
                        kind: .emqxEnterprise,
                        name: "emqx-ee",
                        endpoints: cluster.endpoints,
                        username: credentials.key,
                        password: credentials.secret
                    )
                )
                // Stepped by hand on the cluster's own time: each pass is one 5 s poll of the real operator.
                let operatorService = SimulatedEMQXOperator(
                    api: api,
                    clock: SimulationClock(speed: 1000),
                    configuration: .init(rebalancePollInterval: .zero, emqxRefreshInterval: .zero),
                    logger: Logger(label: "seed-operator")
                )
                await operatorService.reconcileOnce()
                let emqxEE = try #require(api.object(.emqxEnterprises, namespace: "default", name: "emqx-ee")).decode(
                    EmqxEnterpriseResource.self
                )
                #expect(emqxEE.status?.conditions?.isTrue("Running") == true)
                #expect(emqxEE.status?.emqxNodes?.compactMap(\.connections) == [3333, 3333, 3334, 0])

                let created = try await client.send(
                    "POST",
                    "/apis/apps.emqx.io/v2beta1/namespaces/default/rebalances",
                    rebalanceBody(
                        "emqx-ee-scaleout",
                        instance: "emqx-ee",
                        kind: "EmqxEnterprise",
                        strategy: [
                            "connEvictRate": 10, "sessEvictRate": 10, "waitTakeover": 10, "waitHealthCheck": 10,
                            "absConnThreshold": 100, "absSessThreshold": 100, "relConnThreshold": "1.1",
                            "relSessThreshold": "1.1",
                        ]
                    )
                )
                #expect(created.status == 201)
                await operatorService.reconcileOnce()
                #expect(
                    api.rebalance(namespace: "default", name: "emqx-ee-scaleout")?.status?.phaseValue == .processing
                )

                var phase: RebalancePhase? = .processing
                for _ in 0..<400 where phase == .processing {
                    cluster.advance(by: .seconds(5))
                    await operatorService.reconcileOnce()
                    phase = api.rebalance(namespace: "default", name: "emqx-ee-scaleout")?.status?.phaseValue
                }
                let rebalance = try #require(api.rebalance(namespace: "default", name: "emqx-ee-scaleout"))
                #expect(rebalance.status?.phaseValue == .completed)
                #expect(rebalance.status?.completedTime != nil)
                let live = cluster.nodes.map(\.liveConnections)
                #expect(live == [2553, 2553, 2554, 2340])
                #expect(live.reduce(0, +) == 10_000)
                // The EMQX object's status follows: sessions per node after the next refresh.
                await operatorService.reconcileOnce()
                let after = try #require(api.object(.emqxEnterprises, namespace: "default", name: "emqx-ee")).decode(
                    EmqxEnterpriseResource.self
                )
                #expect(after.status?.emqxNodes?.compactMap(\.connections) == [2553, 2553, 2554, 2340])
            }
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    @Test(arguments: [true, false])
    func anEMQX5RebalanceAgainstTheSimulatedCluster(readinessGateFault: Bool) async throws {
        let cluster = SimulatedEMQXCluster(
            configuration: emqx5Configuration([3000, 3000, 3000, 0]),
            logger: Logger(label: "emqx5")
        )
        try await cluster.start()
        do {
            try await withSimulatedAPI { api, client in
                let credentials = cluster.configuration.credentials
                api.addEMQX(
                    EMQXBinding(
                        kind: .emqx,
                        namespace: "mqtt",
                        name: "emqx",
                        endpoints: cluster.endpoints,
                        username: credentials.key,
                        password: credentials.secret
                    )
                )
                let operatorService = SimulatedEMQXOperator(
                    api: api,
                    clock: SimulationClock(speed: 1000),
                    configuration: .init(
                        rebalancePollInterval: .zero,
                        emqxRefreshInterval: .zero,
                        faults: OperatorFaults(readinessGateRemovesReady: readinessGateFault)
                    ),
                    logger: Logger(label: "emqx5-operator")
                )
                await operatorService.reconcileOnce()
                let emqx = try #require(api.object(.emqxes, namespace: "mqtt", name: "emqx")).decode(EMQXResource.self)
                #expect(emqx.status?.conditions?.isTrue("Ready") == true)
                // `live_connections` is omitempty in v2beta1: the empty node has no such key.
                #expect(emqx.status?.coreNodes?.map(\.liveConnections) == [3000, 3000, 3000, nil])

                let created = try await client.send(
                    "POST",
                    "/apis/apps.emqx.io/v2beta1/namespaces/mqtt/rebalances",
                    rebalanceBody(
                        "rb",
                        instance: "emqx",
                        kind: "EMQX",
                        strategy: [
                            "connEvictRate": 50, "sessEvictRate": 50, "waitTakeover": 5, "waitHealthCheck": 5,
                            "absConnThreshold": 100, "absSessThreshold": 100,
                        ]
                    )
                )
                #expect(created.status == 201)
                await operatorService.reconcileOnce()
                #expect(api.rebalance(namespace: "mqtt", name: "rb")?.status?.phaseValue == .processing)
                cluster.advance(by: .seconds(5))
                await operatorService.reconcileOnce()
                if readinessGateFault {
                    // Donors answer 503 on availability_check → on-serving False → EMQX loses Ready → false Failed.
                    let status = api.rebalance(namespace: "mqtt", name: "rb")?.status
                    #expect(status?.phaseValue == .failed)
                    #expect(status?.failureMessage == "EMQX emqx is not ready")
                    #expect(!cluster.model.rebalances.isEmpty)  // while EMQX keeps rebalancing
                } else {
                    var phase: RebalancePhase? = .processing
                    for _ in 0..<400 where phase == .processing {
                        cluster.advance(by: .seconds(5))
                        await operatorService.reconcileOnce()
                        phase = api.rebalance(namespace: "mqtt", name: "rb")?.status?.phaseValue
                    }
                    #expect(phase == .completed)
                    #expect(cluster.model.rebalances.isEmpty)
                    #expect(cluster.nodes.map(\.liveConnections).reduce(0, +) == 9000)
                    #expect(cluster.nodes[3].liveConnections > 0)
                }
            }
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}
