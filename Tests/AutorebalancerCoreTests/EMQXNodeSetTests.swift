import AutorebalancerCore
import Foundation
import Testing

/// A cluster without an EMQX object, read from `GET /api/v5/nodes` bodies as EMQX answers them.
@Suite struct EMQXNodeSetTests {
    static func nodes(_ json: String) throws -> LoadRebalance.NodeSet {
        LoadRebalance.NodeSet(try JSONDecoder().decode([LoadRebalance.NodeInfo].self, from: Data(json.utf8)))
    }

    @Test func replicantsAreTheRebalancedSetWhenThereAreAny() throws {
        let set = try Self.nodes(
            """
            [{"node":"emqx@emqx-core-0.emqx-headless.emqx.svc.cluster.local","node_status":"running","role":"core","uptime":1000},
             {"node":"emqx@10.0.0.7","node_status":"running","role":"replicant","uptime":5000},
             {"node":"emqx@10.0.0.8","node_status":"running","role":"replicant","uptime":99999999999999999}]
            """
        )
        #expect(set.rebalanced == ["emqx@10.0.0.7", "emqx@10.0.0.8"])
        #expect(set.ready)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let starts = set.startTimes(at: now)
        #expect(starts["emqx@10.0.0.7"] == now.addingTimeInterval(-5))
        #expect(starts["emqx@10.0.0.8"] == nil)  // implausible uptime: unknown
    }

    @Test func coresWithoutReplicantsAndAStoppedNodeIsNotReady() throws {
        let set = try Self.nodes(
            """
            [{"node":"emqx@a","node_status":"running","role":"core"},{"node":"emqx@b","node_status":"stopped","role":"core"},
             {"node":"emqx@c","node_status":"running"}]
            """
        )
        #expect(set.rebalanced == ["emqx@a", "emqx@c"])
        #expect(set.notReadyReason == "EMQX reports nodes not running: emqx@b")
        #expect(LoadRebalance.NodeSet([]).ready == false)
    }
}
