import AutorebalancerCore
import Foundation
import Logging
import Synchronization

/// Keeps one scope's objects in memory by list + watch (`ReflectorStateMachine`), and serves them while they are
/// current. Runs inside `KubernetesCache`.
public final class Reflector<Object: KubernetesObject>: Sendable {
    public let scope: WatchScope
    private let client: any KubernetesWatching
    private let clock: any Clock<Duration>
    private let random: @Sendable () -> Double
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var machine: ReflectorStateMachine
        var objects: [String: Object] = [:]
    }

    public init(
        scope: WatchScope,
        client: any KubernetesWatching,
        configuration: ReflectorStateMachine.Configuration,
        clock: any Clock<Duration>,
        random: @escaping @Sendable () -> Double = { .random(in: 0..<1) },
        logger: Logger
    ) {
        self.scope = scope
        self.client = client
        self.clock = clock
        self.random = random
        self.logger = logger
        self.state = Mutex(State(machine: ReflectorStateMachine(configuration: configuration)))
    }

    // MARK: Reading

    /// Every object of the scope, or `nil` while the store is not current (not yet listed, or a call failed since):
    /// the caller then asks the API server itself.
    public func objects() -> [Object]? {
        state.withLock { state in state.machine.isCurrent ? Array(state.objects.values) : nil }
    }

    /// `.some(nil)` when the store is current and has no object of that name; `nil` when it is not current.
    public func object(named name: String) -> Object?? {
        state.withLock { state in state.machine.isCurrent ? .some(state.objects[name]) : nil }
    }

    /// The newest resourceVersion seen (a list's, an event's or a bookmark's).
    public var resourceVersion: String? { state.withLock { $0.machine.resourceVersion } }

    /// How the scope is kept current, and whether it is.
    public var status: (mode: ReflectorStateMachine.Mode, current: Bool) {
        state.withLock { ($0.machine.mode, $0.machine.isCurrent) }
    }

    /// Puts an object the agent itself just wrote into the store, so the next read sees the write even before its
    /// watch event arrives. An older version never replaces a newer one.
    public func remember(_ written: Object) {
        guard let name = written.metadata.name else { return }
        state.withLock { state in
            if let held = state.objects[name],
                Self.isNewer(held.metadata.resourceVersion, than: written.metadata.resourceVersion)
            {
                return
            }
            state.objects[name] = written
        }
    }

    /// resourceVersions are opaque, but every API server writes etcd revisions (integers); anything else counts as
    /// not newer, so the write wins.
    static func isNewer(_ a: String?, than b: String?) -> Bool {
        guard let a = a.flatMap({ UInt64($0) }), let b = b.flatMap({ UInt64($0) }) else { return false }
        return a > b
    }

    // MARK: Running

    /// Lists, watches and backs off until cancelled.
    public func run() async {
        while !Task.isCancelled {
            let action = state.withLock { $0.machine.next(random: random()) }
            switch action {
            case .sleep(let delay):
                do { try await clock.sleep(for: delay) } catch { return }
            case .list:
                await list()
            case .watch(let from, let timeout):
                await watch(from: from, timeout: timeout)
            }
        }
    }

    private func list() async {
        do {
            let listed = try await client.list(scope, as: Object.self)
            var byName: [String: Object] = [:]
            for item in listed.items {
                if let name = item.metadata.name { byName[name] = item }
            }
            state.withLock { state in
                state.objects = byName
                state.machine.listed(resourceVersion: listed.resourceVersion)
            }
        } catch is CancellationError {
            return
        } catch {
            let note = state.withLock { $0.machine.listFailed(Self.kubernetesError(error, scope), random: random()) }
            log(note)
        }
    }

    private func watch(from version: String, timeout: Duration) async {
        do {
            try await client.watch(scope, as: Object.self, from: version, timeout: timeout) { event in
                self.state.withLock { state in
                    let touched: Object?
                    switch event {
                    case .added(let object), .modified(let object):
                        if let name = object.metadata.name { state.objects[name] = object }
                        touched = object
                    case .deleted(let object):
                        if let name = object.metadata.name { state.objects.removeValue(forKey: name) }
                        touched = object
                    case .bookmark(let resourceVersion):
                        state.machine.progressed(to: resourceVersion)
                        return
                    }
                    state.machine.progressed(to: touched?.metadata.resourceVersion)
                }
            }
            state.withLock { $0.machine.watchEnded() }
        } catch is CancellationError {
            return
        } catch {
            if Task.isCancelled { return }
            let note = state.withLock { $0.machine.watchFailed(Self.kubernetesError(error, scope), random: random()) }
            log(note)
        }
    }

    private func log(_ note: ReflectorStateMachine.Note) {
        switch note {
        case .polling(let reason):
            logger.warning(
                "watching \(scope) is forbidden; listing it every \(state.withLock { $0.machine.configuration.pollInterval }.text) instead. Grant the agent the watch verb on \(scope.resource) to get changes at once",
                metadata: ["error": "\(reason)"]
            )
        case .relisting:
            logger.info("the watch of \(scope) fell too far behind (410 Gone); listing it again")
        case .failed(let reason, let failures, let retryIn):
            // The first failure in a row is routine (a restarted API server); the loop reads live meanwhile.
            let level: Logger.Level = failures > 1 ? .warning : .info
            logger.log(
                level: level,
                "cannot keep \(scope) cached; trying again in \(retryIn.text)",
                metadata: ["error": "\(reason)", "failures": "\(failures)"]
            )
        }
    }

    static func kubernetesError(_ error: any Error, _ scope: WatchScope) -> KubernetesError {
        if let error = error as? KubernetesError { return error }
        return KubernetesError(
            code: .unavailable,
            request: .init(verb: "watch", resource: scope.resource, namespace: scope.namespace),
            detail: "\(error)"
        )
    }
}
