import AutorebalancerCore
import Logging
import ServiceLifecycle
import Synchronization

/// The in-memory copies of what the loop reads every cycle (EMQX objects, Rebalances, the agent's records, EMQX
/// pods), one `Reflector` per scope, each started the first time a scope is asked for. A `Service`: reflectors run
/// only while it runs; until a scope is current (and whenever it is not) `CachedKubernetesAPI` reads live.
public final class KubernetesCache: Service, Sendable {
    /// One running scope, whatever its object type.
    protocol Entry: Sendable {
        var scope: WatchScope { get }
        var status: (mode: ReflectorStateMachine.Mode, current: Bool) { get }
        func run() async
    }

    public struct ScopeStatus: Sendable, Hashable {
        public var scope: WatchScope
        public var mode: ReflectorStateMachine.Mode
        /// Reads are served from memory.
        public var current: Bool
    }

    let client: any KubernetesWatching
    let configuration: ReflectorStateMachine.Configuration
    let clock: any Clock<Duration>
    let logger: Logger
    private let entries = Mutex<[WatchScope: any Entry]>([:])
    private let starts: AsyncStream<any Entry>
    private let startsContinuation: AsyncStream<any Entry>.Continuation

    public init(
        client: any KubernetesWatching,
        configuration: ReflectorStateMachine.Configuration = .init(),
        clock: any Clock<Duration> = ContinuousClock(),
        logger: Logger
    ) {
        self.client = client
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        (starts, startsContinuation) = AsyncStream<any Entry>.makeStream()
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for await entry in starts.cancelOnGracefulShutdown() {
                group.addTask { await entry.run() }
            }
            group.cancelAll()
        }
    }

    /// The reflector of a scope, started on first use.
    public func reflector<Object: KubernetesObject>(_ scope: WatchScope, as type: Object.Type) -> Reflector<Object> {
        let (reflector, created) = entries.withLock { entries -> (Reflector<Object>, Bool) in
            if let existing = entries[scope] as? Reflector<Object> { return (existing, false) }
            let made = Reflector<Object>(
                scope: scope,
                client: client,
                configuration: configuration,
                clock: clock,
                logger: logger
            )
            entries[scope] = made
            return (made, true)
        }
        if created { startsContinuation.yield(reflector) }
        return reflector
    }

    /// Every scope started so far, and how it is kept.
    public var status: [ScopeStatus] {
        entries.withLock { Array($0.values) }.map { entry in
            let status = entry.status
            return ScopeStatus(scope: entry.scope, mode: status.mode, current: status.current)
        }.sorted { $0.scope.description < $1.scope.description }
    }
}

extension Reflector: KubernetesCache.Entry {}
