import AutorebalancerCore
import Foundation
import Logging
import Simulation
import Synchronization
import Testing

/// A clock that moves only when the test says so (the operator's pod start delays).
final class ManualOperatorClock: Clock, Sendable {
    typealias Instant = SimulationClock.Instant
    private let current = Mutex(Instant(offset: .zero))
    var now: Instant { current.withLock { $0 } }
    var minimumResolution: Duration { .milliseconds(1) }
    func advance(by duration: Duration) { current.withLock { $0 = $0.advanced(by: duration) } }
    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        await Task.yield()
    }
}

/// The simulated API server and operator playing each EMQX Operator generation: what is served, the status shape
/// each writes (zero counts omitted where the Go types say `omitempty`), HPA scale-outs through the scale
/// subresource, and 3.0's scale-in with the `scaling-down` mark and an evacuation.
@Suite(.serialized) struct OperatorGenerationTests {
    /// Two cores and three replicants; the newest replicant has just joined and holds nothing.
    static func cluster(version: String) -> SimulatedEMQXCluster {
        SimulatedEMQXCluster(
            configuration: SimulatedEMQXConfiguration(
                name: "emqx",
                namespace: "mqtt",
                kind: .emqx,
                nodes: [
                    SimulatedNodeSpec(liveConnections: 0), SimulatedNodeSpec(liveConnections: 0),
                    SimulatedNodeSpec(role: .replicant, liveConnections: 3000),
                    SimulatedNodeSpec(role: .replicant, liveConnections: 3000),
                    SimulatedNodeSpec(role: .replicant, liveConnections: 0, uptime: .zero),
                ],
                seed: 3,
                version: version
            ),
            logger: Logger(label: "generations-emqx")
        )
    }

    /// Runs a cluster, the API at `generation` and a hand-stepped operator for the body.
    static func withWorld(
        _ generation: OperatorGeneration,
        version: String = "5.10.1",
        _ body:
            @Sendable (
                SimulatedEMQXCluster, SimulatedKubernetesAPI, SimulatedAPIClient,
                SimulatedEMQXOperator<ManualOperatorClock>, ManualOperatorClock
            ) async throws -> Void
    ) async throws {
        let cluster = Self.cluster(version: version)
        try await cluster.start()
        do {
            try await withSimulatedAPI(.init(operatorGeneration: generation)) { api, client in
                let credentials = cluster.configuration.credentials
                api.addEMQX(
                    EMQXBinding(
                        kind: .emqx,
                        namespace: "mqtt",
                        name: "emqx",
                        endpoints: cluster.endpoints,
                        username: credentials.key,
                        password: credentials.secret,
                        replicas: 2,
                        replicantReplicas: 3
                    )
                )
                api.setEMQXEndpointProvider(namespace: "mqtt", name: "emqx") { cluster.endpoints }
                api.setEMQXPodControl(namespace: "mqtt", name: "emqx", .cluster(cluster))
                let clock = ManualOperatorClock()
                let operatorService = SimulatedEMQXOperator(
                    api: api,
                    clock: clock,
                    configuration: .init(rebalancePollInterval: .zero, emqxRefreshInterval: .zero),
                    logger: Logger(label: "generations-operator")
                )
                await operatorService.reconcileOnce()
                try await body(cluster, api, client, operatorService, clock)
                #expect(api.schemaViolations.isEmpty, "\(api.schemaViolations)")
            }
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    /// Discovery as a client sees it, turned into the agent's model.
    static func served(_ client: SimulatedAPIClient) async throws -> OperatorAPIs {
        let group = try await client.send("GET", "/apis/apps.emqx.io")
        var resources: [String: Set<String>] = [:]
        for entry in group.body["versions"]?.arrayValue ?? [] {
            let version = try #require(entry["version"]?.stringValue)
            let list = try await client.send("GET", "/apis/apps.emqx.io/\(version)")
            resources[version] = Set(
                (list.body["resources"]?.arrayValue ?? []).compactMap(\.["name"]?.stringValue).filter {
                    !$0.contains("/")
                }
            )
        }
        return OperatorAPIs(resources: resources)
    }

    static func read(
        _ client: SimulatedAPIClient,
        _ version: EMQXObjectVersion,
        pods: Bool = false
    ) async throws -> (json: KubernetesJSON, reading: ClusterReading) {
        let answer = try await client.send("GET", "/apis/apps.emqx.io/\(version.rawValue)/namespaces/mqtt/emqxes/emqx")
        #expect(answer.status == 200)
        let data = answer.body.data()
        let object: ClusterObject =
            switch version {
            case .v2beta1: .emqx(try JSONDecoder().decode(EMQXResource.self, from: data))
            case .v2: .emqxV2(try JSONDecoder().decode(EMQXResourceV2.self, from: data))
            default: .emqxV3beta1(try JSONDecoder().decode(EMQXResourceV2.self, from: data))
            }
        var podList: [Pod]?
        if pods {
            let list = try await client.send(
                "GET",
                "/api/v1/namespaces/mqtt/pods?labelSelector=apps.emqx.io%2Finstance%3Demqx"
            )
            podList = try (list.body["items"]?.arrayValue ?? []).map { try $0.decode(Pod.self) }
        }
        return (answer.body, ClusterReading.read(object, pods: podList))
    }

    @Test(arguments: [(OperatorGeneration.v2_2, EMQXObjectVersion.v2beta1), (.v2_3, .v2), (.v3_0, .v3beta1)])
    func eachGenerationServesItsVersionAndWritesItsStatusShape(
        generation: OperatorGeneration,
        version: EMQXObjectVersion
    ) async throws {
        try await Self.withWorld(generation) { cluster, api, client, _, _ in
            let served = try await Self.served(client)
            #expect(served.generation == generation)
            #expect(served.objectVersion(for: .emqx) == version)
            #expect(served.servesRebalance == (generation != .v3_0))
            // Any other version of emqxes is not served.
            for other in EMQXObjectVersion.emqxPreference where other != version {
                #expect(
                    try await client.send("GET", "/apis/apps.emqx.io/\(other.rawValue)/namespaces/mqtt/emqxes/emqx")
                        .status == 404
                )
            }
            let (json, reading) = try await Self.read(client, version, pods: generation == .v3_0)
            let newest = try #require(json.value(atPath: "status.replicantNodes")?.arrayValue?.last)
            switch generation {
            case .v2_2:
                // `live_connections` and `connections` are omitempty: the empty node has neither key.
                #expect(newest["live_connections"] == nil && newest["connections"] == nil)
                #expect(json.value(atPath: "status.replicantNodes")?.arrayValue?.first?["live_connections"] == 3000)
            case .v2_3:
                #expect(newest["connections"] == nil && newest["sessions"] == nil)
                #expect(newest["podName"]?.stringValue?.hasPrefix("emqx-replicant-") == true)
                #expect(json.value(atPath: "status.replicantNodes")?.arrayValue?.first?["connections"] == 3000)
            default:
                // v3beta1 always writes the counts, and the scale subresource's fields.
                #expect(newest["connections"] == 0 && newest["sessions"] == 0)
                #expect(json.value(atPath: "status.replicantReplicas") == 3)
                #expect(
                    json.value(atPath: "status.conditions")?.arrayValue?.contains {
                        $0["type"] == "Paused" && $0["status"] == "False"
                    } == true
                )
                #expect(reading.facts.podsBeingRemoved == [])
                #expect(reading.facts.operatorPaused == false)
            }
            // Whatever the shape, the reading is the same: clients 3000, 3000 and 0 on the replicants.
            #expect(reading.nodes.map(\.liveConnections) == [3000, 3000, 0])
            #expect(reading.nodes.allSatisfy { $0.role == .replicant })
            #expect(reading.facts.ready == true)
            #expect(reading.emqxVersions == ["5.10.1"])
            // The pods are mirrored with the operator's labels.
            #expect(api.pods(namespace: "mqtt").count == cluster.nodes.count)
        }
    }

    @Test func operator30ServesNoRebalance() async throws {
        try await Self.withWorld(.v3_0) { _, _, client, _, _ in
            let created = try await client.send(
                "POST",
                "/apis/apps.emqx.io/v2beta1/namespaces/mqtt/rebalances",
                rebalanceBody("r", instance: "emqx")
            )
            #expect(created.status == 404)
        }
    }

    @Test func hpaScaleOutThroughTheScaleSubresourceStartsNodesAfterTheirStartDelay() async throws {
        try await Self.withWorld(.v3_0) { cluster, _, client, operatorService, clock in
            let scale = try await client.send(
                "PATCH",
                "/apis/apps.emqx.io/v3beta1/namespaces/mqtt/emqxes/emqx/scale",
                ["spec": ["replicas": 5]],
                contentType: "application/merge-patch+json"
            )
            #expect(scale.status == 200)
            #expect(scale.body.value(atPath: "spec.replicas") == 5)
            #expect(scale.body.value(atPath: "status.replicas") == 3)
            #expect(
                scale.body.value(atPath: "status.selector")?.stringValue?.contains("apps.emqx.io/db-role=replicant")
                    == true
            )
            await operatorService.reconcileOnce()
            var reading = try await Self.read(client, .v3beta1, pods: true).reading
            #expect(reading.facts.nodesPending == NodesPending(wanted: 5, running: 3, role: .replicant))
            #expect(reading.facts.ready == false)
            // The first new pod starts after the start delay, the second one stagger later.
            clock.advance(by: .seconds(15))
            await operatorService.reconcileOnce()
            #expect(cluster.nodes.filter { $0.role == .replicant }.count == 4)
            clock.advance(by: .seconds(5))
            await operatorService.reconcileOnce()
            await operatorService.reconcileOnce()
            #expect(cluster.nodes.filter { $0.role == .replicant }.count == 5)
            reading = try await Self.read(client, .v3beta1, pods: true).reading
            #expect(reading.facts.nodesPending?.count == 0)
            #expect(reading.facts.ready == true)
            #expect(reading.expectedNodes.count == 5)
            #expect(reading.nodes.suffix(2).map(\.liveConnections) == [0, 0])
        }
    }

    @Test(arguments: [OperatorGeneration.v2_2, .v2_3, .v3_0])
    func aScaleInEvacuatesTheReplicantBeforeRemovingIt(generation: OperatorGeneration) async throws {
        let version: EMQXObjectVersion = generation == .v3_0 ? .v3beta1 : generation == .v2_3 ? .v2 : .v2beta1
        try await Self.withWorld(generation) { cluster, api, client, operatorService, _ in
            let newest = try #require(cluster.nodes.last)
            try api.scaleReplicants(namespace: "mqtt", name: "emqx", to: 2)
            await operatorService.reconcileOnce()
            await operatorService.reconcileOnce()  // the next refresh sees the evacuation EMQX started
            // Only 3.0 marks the pod.
            let marked = api.pods(namespace: "mqtt").first { $0.metadata.name == newest.podName }
            #expect((marked?.metadata.annotations?[Pod.scalingDownAnnotation] == "true") == (generation == .v3_0))
            var (json, reading) = try await Self.read(client, version, pods: generation == .v3_0)
            let evacuations = generation == .v2_2 ? "status.nodeEvacuationsStatus" : "status.nodeEvacuations"
            let nameKey = generation == .v2_2 ? "node" : "nodeName"
            #expect(json.value(atPath: evacuations)?.arrayValue?.first?[nameKey]?.stringValue == newest.name)
            if generation == .v3_0 { #expect(reading.facts.podsBeingRemoved == [newest.podName]) }
            #expect(reading.facts.evacuating == true)
            #expect(reading.facts.scalingIn == true)
            #expect(!reading.expectedNodes.map(\.name).contains(newest.name))
            // Once EMQX has evacuated it (health-check wait, evictions, takeover wait), the node and its pod go.
            for _ in 0..<60 where cluster.nodes.contains(where: { $0.name == newest.name }) {
                cluster.advance(by: .seconds(5))
                await operatorService.reconcileOnce()
            }
            #expect(!cluster.nodes.contains { $0.name == newest.name })
            await operatorService.reconcileOnce()
            (json, reading) = try await Self.read(client, version, pods: generation == .v3_0)
            #expect(json.value(atPath: evacuations) == nil)
            if generation == .v3_0 { #expect(reading.facts.podsBeingRemoved == []) }
            #expect(reading.facts.scalingIn == false)
            #expect(api.pods(namespace: "mqtt").allSatisfy { $0.metadata.name != newest.podName })
        }
    }

    @Test func pausedOn30ReportsTheConditionAndLeavesThePodsAlone() async throws {
        try await Self.withWorld(.v3_0) { cluster, api, client, operatorService, clock in
            api.setEMQXPaused(namespace: "mqtt", name: "emqx", true)
            try api.scaleReplicants(namespace: "mqtt", name: "emqx", to: 4)
            clock.advance(by: .seconds(60))
            await operatorService.reconcileOnce()
            #expect(cluster.nodes.filter { $0.role == .replicant }.count == 3)
            #expect(try await Self.read(client, .v3beta1).reading.facts.operatorPaused == true)
        }
    }

    @Test func anUpgradeUnderRunningClientsMovesTheServedVersion() async throws {
        try await Self.withWorld(.v2_2) { _, api, client, operatorService, _ in
            #expect(
                try await client.send("GET", "/apis/apps.emqx.io/v2beta1/namespaces/mqtt/emqxes/emqx").status == 200
            )
            api.upgradeOperator(to: .v2_3)
            #expect(
                try await client.send("GET", "/apis/apps.emqx.io/v2beta1/namespaces/mqtt/emqxes/emqx").status == 404
            )
            await operatorService.reconcileOnce()
            let (json, reading) = try await Self.read(client, .v2)
            #expect(json["apiVersion"] == "apps.emqx.io/v2")
            #expect(reading.nodes.map(\.liveConnections) == [3000, 3000, 0])
            #expect(try await Self.served(client).generation == .v2_3)
        }
    }
}
