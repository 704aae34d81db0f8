import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Kubernetes
import Logging
import Simulation
import Synchronization
import TestSupport
import Testing

@testable import Agent

/// Three whole agents sharing the watched clusters through shard Leases on the simulated Kubernetes API, over HTTP,
/// on one hand-stepped clock: each acts only on its own clusters; one is killed without releasing its Leases, and
/// its shards move to the others within one lease duration plus one cycle, with no cluster acted on twice.
@Suite struct ShardingTests {
    static let clusters = (0..<12).map { ClusterReference(namespace: "default", name: "emqx-\($0)") }
    static let shards = 6
    static let cycle = Duration.seconds(15)

    static let policyText = """
        apiVersion: autorebalancer.emqx.io/v1alpha1
        kind: Policy
        metadata: {name: sharded}
        spec:
          evaluationInterval: 15s
          staleness: 120s
          rules:
            - name: skew
              trigger: skew
              imbalance:
                connections: {abs: 100, rel: 1.1}
              for: 0s
              cooldown: 1h
              minConnections: 100
              rebalanceStrategy: {connEvictRate: 10}
        """

    /// An EMQX 5 cluster, Ready, with one empty node of four: imbalanced from the first cycle.
    static func object(_ cluster: ClusterReference) throws -> KubernetesJSON {
        let nodes = (0..<4).map { index in
            let live = index == 3 ? 0 : 3000
            return
                #"{"node":"emqx@\#(cluster.name)-\#(index).\#(cluster.name)-headless.default.svc.cluster.local","node_status":"running","role":"core","version":"5.8.6","connections":\#(live),"live_connections":\#(live)}"#
        }
        let json = """
            {"apiVersion":"apps.emqx.io/v2beta1","kind":"EMQX","metadata":{"name":"\(cluster.name)","namespace":"default"},
             "spec":{"image":"emqx/emqx-enterprise:5.8.6","coreTemplate":{"spec":{"replicas":4}}},
             "status":{"conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-01-01T00:00:00Z"}],
              "coreNodes":[\(nodes.joined(separator: ","))],
              "coreNodesStatus":{"replicas":4,"readyReplicas":4,"currentRevision":"r1","updateRevision":"r1"}}}
            """
        return try KubernetesJSON.parse(Data(json.utf8))
    }

    final class Replica: Sendable {
        let name: String
        let assembly: AgentAssembly<ManualClock>
        let client: HTTPKubernetesClient
        var elector: ShardElector<ManualClock> { assembly.shardElector! }

        init(name: String, assembly: AgentAssembly<ManualClock>, client: HTTPKubernetesClient) {
            self.name = name
            self.assembly = assembly
            self.client = client
        }
    }

    @Test(.timeLimit(.minutes(5)))
    func threeAgentsShareTheClustersAndAKilledOnesShardsMoveWithoutADuplicate() async throws {
        let clock = ManualClock(startDate: Date(timeIntervalSince1970: 1_800_000_000))
        let api = SimulatedKubernetesAPI(
            configuration: .init(now: { clock.date }, watchBookmarkInterval: nil),
            logger: Logger(label: "test-api")
        )
        let policy = try #require(PolicyLoader.load(text: Self.policyText, file: "sharded.yaml").policy)
        try await api.withRunning { api in
            for cluster in Self.clusters {
                api.putObject(.emqxes, namespace: cluster.namespace, try Self.object(cluster))
            }
            let configuration = AgentConfiguration(
                leaderElection: LeaderElectionSettings(leaseNamespace: "default", shards: Self.shards),
                clusters: Self.clusters.map { ClusterSettings(target: .named($0), sources: [.status]) }
            )
            var agents: [Replica] = []
            for index in 0..<3 {
                let client = try HTTPKubernetesClient(
                    configuration: KubernetesClientConfiguration(
                        server: try await api.baseURL().absoluteString,
                        namespace: "default",
                        tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken)
                    ),
                    logger: Logger(label: "test-client")
                )
                let assembly = AgentAssembly(
                    configuration: configuration,
                    policies: [policy],
                    kubernetes: client,
                    kubernetesNamespace: "default",
                    httpClient: .shared,
                    options: .init(hostname: "agent-\(index)", environment: [:]),
                    clock: clock,
                    now: { clock.date },
                    logger: Logger(label: "agent-\(index)")
                )
                agents.append(Replica(name: "agent-\(index)", assembly: assembly, client: client))
            }

            /// One retry period: every live agent's election round, then no shard may have two owners, the dead
            /// agent's stale view included.
            func electionRound(_ live: [Replica]) async {
                for agent in live { #expect(await agent.elector.tick() == nil, "\(agent.name) lost a Lease") }
                for shard in 0..<Self.shards {
                    let owners = agents.filter { $0.elector.ownsShard(shard) }.map(\.name)
                    #expect(owners.count <= 1, "shard \(shard) has owners \(owners)")
                }
                clock.advance(by: .seconds(2))
            }
            func owner(of shard: Int, among candidates: [Replica]) -> Replica? {
                candidates.first { $0.elector.ownsShard(shard) }
            }
            func allOwned(by candidates: [Replica]) -> Bool {
                (0..<Self.shards).allSatisfy { owner(of: $0, among: candidates) != nil }
            }

            for _ in 0..<6 { await electionRound(agents) }
            #expect(allOwned(by: agents))
            #expect(agents.allSatisfy { !$0.elector.ownedShards.isEmpty }, "6 shards over 3 agents: each has work")

            // The writers' gate, for the cluster a cycle works on: open for the agent's own clusters only.
            for agent in agents {
                for cluster in Self.clusters {
                    let open = WriteScope.$cluster.withValue(cluster) { agent.assembly.canWrite() }
                    #expect(open == agent.elector.owns(cluster), "\(agent.name) may write for \(cluster): \(open)")
                }
                #expect(!agent.assembly.canWrite(), "a write outside any cluster's cycle is refused")
            }

            // Cycles on every agent: each observes and acts on exactly the clusters of its shards.
            var actedBy: [ClusterReference: [String]] = [:]
            for _ in 0..<3 where actedBy.count < Self.clusters.count {
                for agent in agents {
                    let report = await agent.assembly.loop.tick(at: clock.date)
                    for sink in agent.assembly.loop.sinks { await sink.publish(report) }
                    let mine = Set(Self.clusters.filter { agent.elector.owns($0) })
                    #expect(Set(report.clusters.map(\.cluster)) == mine, "\(agent.name) observes only its own clusters")
                    for cluster in report.clusters {
                        #expect(cluster.errors.isEmpty, "\(cluster.cluster): \(cluster.errors)")
                        if case .confirmed? = cluster.action?.result {
                            actedBy[cluster.cluster, default: []].append(agent.name)
                        }
                    }
                    let metrics = agent.assembly.metrics.render()
                    for shard in 0..<Self.shards {
                        let owned = agent.elector.ownsShard(shard) ? 1 : 0
                        #expect(
                            metrics.contains("emqx_autorebalancer_shard_owned{shard=\"\(shard)\"} \(owned)"),
                            "\(agent.name) shard \(shard)"
                        )
                    }
                    for cluster in mine {
                        #expect(metrics.contains("emqx_autorebalancer_cluster_owned{cluster=\"\(cluster)\"} 1"))
                    }
                }
                for _ in 0..<7 { await electionRound(agents) }
                clock.advance(by: .seconds(1))
            }
            #expect(Set(actedBy.keys) == Set(Self.clusters), "every cluster acted on")
            #expect(actedBy.values.allSatisfy { $0.count == 1 })
            #expect(api.rebalances(namespace: "default").count == Self.clusters.count)

            // agent-2 is killed: it neither renews nor releases. The others keep electing.
            let killed = agents[2]
            let survivors = Array(agents[0..<2])
            let orphaned = (0..<Self.shards).filter { killed.elector.ownsShard($0) }
            #expect(!orphaned.isEmpty)
            let killedAt = clock.now
            var movedAfter: Duration?
            for _ in 0..<15 {
                await electionRound(survivors)
                if movedAfter == nil, allOwned(by: survivors) { movedAfter = killedAt.duration(to: clock.now) }
            }
            let moved = try #require(movedAfter, "the killed agent's shards never moved")
            #expect(
                moved <= .seconds(15) + Self.cycle,
                "moved after \(moved): more than one lease duration plus one cycle"
            )
            #expect(orphaned.allSatisfy { !killed.elector.ownsShard($0) }, "the killed agent's view lapsed by itself")

            // The survivors' cycles now cover the orphaned clusters: the Rebalances already there hold them back.
            for _ in 0..<2 {
                for agent in survivors {
                    let report = await agent.assembly.loop.tick(at: clock.date)
                    for cluster in report.clusters {
                        #expect(agent.elector.owns(cluster.cluster))
                        if case .confirmed? = cluster.action?.result {
                            actedBy[cluster.cluster, default: []].append(agent.name)
                        }
                    }
                }
                for _ in 0..<7 { await electionRound(survivors) }
                clock.advance(by: .seconds(1))
            }
            let covered = Set(survivors.flatMap { agent in Self.clusters.filter { agent.elector.owns($0) } })
            #expect(covered == Set(Self.clusters))
            #expect(
                actedBy.values.allSatisfy { $0.count == 1 },
                "acted on twice: \(actedBy.filter { $0.value.count > 1 })"
            )
            let rebalances = api.rebalances(namespace: "default")
            #expect(rebalances.count == Self.clusters.count, "no duplicate Rebalance")
            #expect(Set(rebalances.map(\.spec.instanceName)) == Set(Self.clusters.map(\.name)))
            for agent in agents { try await agent.client.shutdown() }
        }
    }
}
