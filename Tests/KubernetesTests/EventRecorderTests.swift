import AutorebalancerCore
import Foundation
import Logging
import Simulation
import TestSupport
import Testing

@testable import Kubernetes

/// Events through the real client against the simulated API server, which validates `events.k8s.io/v1` Events as
/// the real one does (required fields, length limits, series).
struct EventRecorderTests {
    static let object = ObjectReference(
        apiVersion: "apps.emqx.io/v2beta1",
        kind: "EMQX",
        name: "emqx-ee",
        namespace: "emqx"
    )
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func withRecorder<T: Sendable>(
        servesEventsV1: Bool = true,
        logs: CapturedLogs = CapturedLogs(),
        _ body: @Sendable @escaping (EventRecorder, HTTPKubernetesClient, SimulatedKubernetesAPI) async throws -> T
    ) async throws -> T {
        let api = SimulatedKubernetesAPI(logger: Logger(label: "simulated-api"))
        if !servesEventsV1 { api.stopServing(groupVersion: "events.k8s.io/v1") }
        return try await api.withRunning { api in
            let client = try HTTPKubernetesClient(
                configuration: .init(
                    server: try await api.baseURL().absoluteString,
                    namespace: "emqx",
                    tokenProvider: StaticTokenProvider(SimulatedKubernetesAPI.defaultToken)
                ),
                logger: logs.logger()
            )
            let recorder = EventRecorder(api: client, canWrite: { true }, instance: "agent-0", logger: logs.logger())
            do {
                let result = try await body(recorder, client, api)
                try await client.shutdown()
                return result
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }

    @Test func eventsAreWrittenToEventsV1WithRegardingReasonActionAndNoteAndRepeatsAsASeries() async throws {
        try await Self.withRecorder { recorder, _, api in
            #expect(
                await recorder.record(.rebalanceBlocked, "rule a blocked: cooldown", on: Self.object, at: Self.t0) == 1
            )
            #expect(
                await recorder.record(
                    .rebalanceBlocked,
                    "rule a blocked: cooldown",
                    on: Self.object,
                    at: Self.t0.addingTimeInterval(30)
                ) == 2
            )
            #expect(
                await recorder.record(
                    .rebalanceBlocked,
                    "rule a blocked: cooldown",
                    on: Self.object,
                    at: Self.t0.addingTimeInterval(60)
                ) == 3
            )
            #expect(
                await recorder.record(
                    .rebalanceCreated,
                    "created r1",
                    on: Self.object,
                    at: Self.t0.addingTimeInterval(90)
                ) == 1
            )

            let events = api.eventsV1(namespace: "emqx")
            #expect(events.count == 2)
            #expect(
                api.objects(.events, namespace: "emqx").isEmpty,
                "no core/v1 Event where events.k8s.io/v1 is served"
            )
            let blocked = try #require(events.first { $0.reason == "RebalanceBlocked" })
            #expect(blocked.regarding == Self.object)
            #expect(blocked.note == "rule a blocked: cooldown")
            #expect(blocked.action == "Decide")
            #expect(blocked.type == "Warning")
            #expect(blocked.reportingController == "emqx-autorebalancer" && blocked.reportingInstance == "agent-0")
            #expect(blocked.eventTime == KubernetesTime.formatMicro(Self.t0))
            #expect(
                blocked.series
                    == EventSeries(
                        count: 3,
                        lastObservedTime: KubernetesTime.formatMicro(Self.t0.addingTimeInterval(60))
                    )
            )
            let created = try #require(events.first { $0.reason == "RebalanceCreated" })
            #expect(created.action == "CreateRebalance" && created.type == "Normal" && created.series == nil)
            // `kubectl get events` (core/v1) shows them too.
            #expect(api.events(namespace: "emqx").first { $0.reason == "RebalanceBlocked" }?.count == 3)
        }
    }

    @Test func whereEventsV1IsNotServedCoreV1EventsAreWritten() async throws {
        let logs = CapturedLogs()
        try await Self.withRecorder(servesEventsV1: false, logs: logs) { recorder, _, api in
            #expect(await recorder.record(.rebalanceFailed, "Rebalance r1 failed", on: Self.object, at: Self.t0) == 1)
            #expect(
                await recorder.record(
                    .rebalanceFailed,
                    "Rebalance r1 failed",
                    on: Self.object,
                    at: Self.t0.addingTimeInterval(5)
                ) == 2
            )
            #expect(api.eventsV1(namespace: "emqx").isEmpty)
            let core = api.objects(.events, namespace: "emqx").compactMap { try? $0.decode(KubernetesEvent.self) }
            #expect(core.count == 1)
            #expect(core.first?.involvedObject == Self.object)
            #expect(core.first?.message == "Rebalance r1 failed")
            #expect(core.first?.count == 2)
            #expect(core.first?.action == "FollowRebalance")
        }
        #expect(logs.contains("events.k8s.io/v1 is not served: writing core/v1 Events"))
    }

    @Test func aLongNoteIsCutToTheAPIServersLimit() async throws {
        try await Self.withRecorder { recorder, _, api in
            let message = String(repeating: "avg(3333,3333,3334)=3333.3 > 0*1.2 ", count: 60) + "é"
            #expect(message.utf8.count > EventsV1Event.noteLimit)
            #expect(await recorder.record(.rebalanceCreated, message, on: Self.object, at: Self.t0) == 1)
            let note = try #require(api.eventsV1(namespace: "emqx").first?.note)
            #expect(note.utf8.count <= EventsV1Event.noteLimit)
            #expect(note.hasSuffix("…") && message.hasPrefix(String(note.dropLast())))
        }
    }

    @Test func theSimulatedServerRejectsAnEventsV1EventWithoutAnAction() async throws {
        try await Self.withRecorder { _, client, _ in
            let event = EventsV1Event(
                metadata: ObjectMeta(name: "e1", namespace: "emqx"),
                eventTime: KubernetesTime.formatMicro(Self.t0),
                reportingController: "c",
                reportingInstance: "i",
                action: "",
                reason: "R",
                regarding: Self.object,
                note: "n",
                type: "Normal"
            )
            await #expect(throws: KubernetesError.self) { try await client.createEventV1(event) }
        }
    }
}
