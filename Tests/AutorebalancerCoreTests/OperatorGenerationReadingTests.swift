import Foundation
import Testing

@testable import AutorebalancerCore

/// The three EMQX wire formats read into the one model: counts with their meaning, the `omitempty` rule, the facts
/// the gates need, the rebalanced node set.
struct OperatorGenerationReadingTests {
    static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(json.utf8))
    }

    // MARK: v2beta1 (operator 2.2)

    @Test func v2beta1AbsentCountsOnARunningNodeOfEMQX51AndLaterAreZero() throws {
        let reading = ClusterReading.read(.emqx(try Self.decode(EMQXResource.self, OperatorObjectFixtures.v2beta1)))
        let byName = Dictionary(uniqueKeysWithValues: reading.nodes.map { ($0.name.split(separator: ".")[0], $0) })
        // `connections` is sessions, `live_connections` connected clients.
        #expect(byName["emqx@emqx-core-0"]?.liveConnections == 3333)
        #expect(byName["emqx@emqx-core-0"]?.sessions == 3400)
        #expect(byName["emqx@emqx-core-0"]?.connections == nil)
        // The new node: no key at all, running, EMQX 5.8.6: both are 0.
        #expect(byName["emqx@emqx-core-3"]?.liveConnections == 0)
        #expect(byName["emqx@emqx-core-3"]?.sessions == 0)
        // EMQX 5.0.26 has no live_connections: unknown, never 0; its sessions key is there.
        #expect(byName["emqx@emqx-core-4"]?.liveConnections == nil)
        #expect(byName["emqx@emqx-core-4"]?.sessions == 10)
        // A stopped node: unknown.
        #expect(byName["emqx@emqx-core-5"]?.liveConnections == nil)
        #expect(byName["emqx@emqx-core-5"]?.sessions == nil)
        // run --once says which was read how.
        #expect(
            reading.countNotes.contains {
                $0.contains("live_connections absent on emqx@emqx-core-3")
                    && $0.contains("read as 0, the operator omits zero counts")
            }
        )
        #expect(
            reading.countNotes.contains {
                $0.contains("emqx@emqx-core-4") && $0.contains("EMQX 5.0.26 is older than 5.1")
            }
        )
        #expect(reading.countNotes.contains { $0.contains("emqx@emqx-core-5") && $0.contains("node is stopped") })
        #expect(reading.emqxVersions == ["5.0.26", "5.8.6"])
        #expect(reading.facts.enterprise == nil)  // the stopped node reports no edition
    }

    // MARK: v2 (operator 2.3)

    @Test func v2ConnectionsAreClientsAndEvacuatedNodesLeaveTheSet() throws {
        let object = try Self.decode(EMQXResourceV2.self, OperatorObjectFixtures.v2)
        let reading = ClusterReading.read(.emqxV2(object))
        // Replicants are the rebalanced set, without the evacuated node.
        #expect(reading.expectedNodes.map(\.name) == ["emqx@10.0.0.11", "emqx@10.0.0.12", "emqx@10.0.0.13"])
        #expect(reading.expectedNodes.first?.podName == "emqx-replicant-7d9f-abcde")
        #expect(reading.expectedNodes.allSatisfy { $0.role == .replicant })
        #expect(reading.nodes[0].liveConnections == 2500)  // v2 `connections`: connected clients
        #expect(reading.nodes[0].sessions == 2600)
        // The new replicant has neither key: running on v2, so both are 0.
        #expect(reading.nodes[2].liveConnections == 0 && reading.nodes[2].sessions == 0)
        #expect(
            reading.countNotes.contains {
                $0.contains("connections (clients) absent on emqx@10.0.0.13 (running): read as 0")
            }
        )
        #expect(reading.facts.evacuating == true)
        #expect(reading.notes.contains { $0.contains("emqx@10.0.0.14 is being removed") })
        // Five replicants wanted, three running outside the evacuation: two more to come.
        #expect(reading.facts.nodesPending == NodesPending(wanted: 5, running: 3, role: .replicant))
        #expect(reading.facts.upgrading == false)  // no core on the previous template, revisions equal
        #expect(reading.facts.enterprise == true)  // 5.9+ only
        #expect(reading.facts.operatorPaused == nil)  // 2.3 has no Paused condition
    }

    // MARK: v3beta1 (operator 3.0)

    @Test func v3beta1PausedShrinkingAndMarkedPods() throws {
        let object = try Self.decode(EMQXResourceV2.self, OperatorObjectFixtures.v3beta1)
        let pods = try Self.decode([Pod].self, OperatorObjectFixtures.v3beta1Pods)
        let reading = ClusterReading.read(.emqxV3beta1(object), pods: pods)
        #expect(reading.facts.operatorPaused == true)
        #expect(reading.facts.scalingIn == true)  // spec 2 < status.replicantReplicas 3
        #expect(reading.notes.contains { $0.contains("replicant replicas shrinking: spec 2 < status 3") })
        #expect(reading.facts.podsBeingRemoved == ["emqx-replicant-5c6d-bbbbb"])
        #expect(!reading.expectedNodes.map(\.name).contains("emqx@10.0.1.2"))
        // Written counts of 0 are 0; counts v3beta1 always writes but which are absent are unknown.
        #expect(reading.nodes.first { $0.name == "emqx@10.0.1.1" }?.liveConnections == 0)
        #expect(reading.nodes.first { $0.name == "emqx@10.0.1.3" }?.liveConnections == nil)
        #expect(reading.countNotes.contains { $0.contains("emqx@10.0.1.3") && $0.contains("v3beta1 always writes it") })
        // Without the pods, the marked pod is not known and its node stays in the set.
        let blind = ClusterReading.read(.emqxV3beta1(object))
        #expect(blind.facts.podsBeingRemoved == nil)
        #expect(blind.expectedNodes.count == 3)
    }

    @Test func v3beta1StatusWithoutTheRequiredCountsIsStillReadable() throws {
        let object = try Self.decode(
            EMQXResourceV2.self,
            #"{"metadata":{"name":"e"},"status":{"replicantNodes":[{"name":"emqx@10.0.0.1","status":"running"}]}}"#
        )
        let reading = ClusterReading.read(.emqxV3beta1(object))
        #expect(reading.nodes.map(\.liveConnections) == [nil])
        #expect(reading.facts.ready == false)
    }

    // MARK: Hostile values

    @Test func implausibleCountsAreUnknown() throws {
        let json =
            #"{"metadata":{"name":"e"},"status":{"replicantNodes":[{"name":"a","status":"running","connections":-5,"sessions":9223372036854775807}]}}"#
        let reading = ClusterReading.read(.emqxV2(try Self.decode(EMQXResourceV2.self, json)))
        #expect(reading.nodes.first?.liveConnections == nil)
        #expect(reading.nodes.first?.sessions == nil)
        #expect(reading.countNotes.contains { $0.contains("implausible on a (-5)") })
        // A count that is not an integer is not a document the agent reads.
        #expect(throws: DecodingError.self) {
            try Self.decode(
                EMQXResourceV2.self,
                #"{"metadata":{},"status":{"coreNodes":[{"name":"a","connections":1.5e30}]}}"#
            )
        }
        // A huge replica number in the spec does not overflow.
        let spec =
            #"{"metadata":{"name":"e"},"spec":{"replicantTemplate":{"spec":{"replicas":9223372036854775807}}},"status":{}}"#
        #expect(
            ClusterReading.read(.emqxV2(try Self.decode(EMQXResourceV2.self, spec))).facts.nodesPending?.count
                == Int.max
        )
    }

    @Test func versionsAreReadLeniently() {
        #expect(StatusCount.majorMinor("5.10.1-rc.1")! == (5, 10))
        #expect(StatusCount.majorMinor("6.0")! == (6, 0))
        #expect(StatusCount.majorMinor("v5") == nil)
        #expect(StatusCount.majorMinor("99999999999999999999.1") == nil)
        #expect(StatusCount.majorMinor(nil) == nil)
    }
}
