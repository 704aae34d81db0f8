import Testing

@testable import Kubernetes

/// List + watch as a value: what comes after each outcome, and when reads may be served from memory.
struct ReflectorStateMachineTests {
    static let request = KubernetesError.Request(verb: "watch", resource: .rebalances, namespace: "emqx")
    static func error(_ code: KubernetesError.Code, retryAfter: Double? = nil) -> KubernetesError {
        KubernetesError(code: code, request: request, detail: "test", retryAfterSeconds: retryAfter)
    }

    @Test func listsThenWatchesFromTheListsVersionAndResumesWhereItStopped() {
        var machine = ReflectorStateMachine()
        #expect(machine.next(random: 0) == .list)
        #expect(!machine.isCurrent)
        machine.listed(resourceVersion: "100")
        #expect(machine.isCurrent)
        #expect(machine.next(random: 0) == .watch(from: "100", timeout: .seconds(300)))
        machine.progressed(to: "104")
        machine.progressed(to: "107")  // a bookmark
        machine.watchEnded()
        #expect(
            machine.next(random: 1) == .watch(from: "107", timeout: .seconds(600)),
            "resumed from the last version seen, no list"
        )
        #expect(machine.isCurrent)
    }

    @Test func goneListsAgainAtOnceAndIsNotServedUntilThen() {
        var machine = ReflectorStateMachine()
        _ = machine.next(random: 0)
        machine.listed(resourceVersion: "100")
        _ = machine.next(random: 0)
        #expect(machine.watchFailed(Self.error(.gone), random: 0) == .relisting)
        #expect(!machine.isCurrent, "events were missed: the store is behind until the list")
        #expect(machine.next(random: 0) == .list, "no backoff for a 410")
        machine.listed(resourceVersion: "200")
        #expect(machine.isCurrent)
        #expect(machine.next(random: 0) == .watch(from: "200", timeout: .seconds(300)))
    }

    @Test func aForbiddenWatchFallsBackToPollingAndSaysSo() {
        var machine = ReflectorStateMachine(configuration: .init(pollInterval: .seconds(30)))
        _ = machine.next(random: 0)
        machine.listed(resourceVersion: "100")
        _ = machine.next(random: 0)
        guard case .polling(let reason) = machine.watchFailed(Self.error(.forbidden), random: 0) else {
            Issue.record("expected the polling note")
            return
        }
        #expect(reason.contains("watch"))
        #expect(machine.mode == .polling(reason: reason))
        #expect(machine.isCurrent, "the last list is still whole")
        #expect(machine.next(random: 0) == .sleep(.seconds(30)))
        #expect(machine.next(random: 0) == .list)
        machine.listed(resourceVersion: "130")
        #expect(machine.next(random: 0) == .sleep(.seconds(30)), "polling: list, wait, list; never a watch again")
        #expect(machine.next(random: 0) == .list)
    }

    @Test func failuresBackOffWithJitterUpToTheCapAndAreNotServedMeanwhile() {
        var machine = ReflectorStateMachine()
        _ = machine.next(random: 0)
        machine.listed(resourceVersion: "100")
        var delays: [Duration] = []
        for _ in 0..<8 {
            _ = machine.next(random: 0)
            guard case .failed(_, _, let wait) = machine.watchFailed(Self.error(.unavailable), random: 1) else {
                Issue.record("expected a failure note")
                return
            }
            #expect(!machine.isCurrent)
            #expect(machine.next(random: 0) == .sleep(wait))
            delays.append(wait)
        }
        #expect(delays.first == .milliseconds(800))
        #expect(delays == delays.sorted(), "never shorter after another failure")
        #expect(delays.last == .seconds(30), "capped")
        // With the lowest jitter a delay is half of the full one.
        var low = ReflectorStateMachine()
        _ = low.next(random: 0)
        _ = low.listFailed(Self.error(.unavailable), random: 0)
        #expect(low.next(random: 0) == .sleep(.milliseconds(400)))
        #expect(low.next(random: 0) == .list, "after a failed list, list again")
        // A watch that delivers again is current again.
        _ = machine.next(random: 0)
        machine.progressed(to: "140")
        #expect(machine.isCurrent)
    }

    @Test func aServerWithoutAVersionIsPolled() {
        var machine = ReflectorStateMachine(configuration: .init(pollInterval: .seconds(5)))
        _ = machine.next(random: 0)
        machine.listed(resourceVersion: nil)
        #expect(machine.next(random: 0) == .sleep(.seconds(5)))
        #expect(machine.next(random: 0) == .list)
    }
}
