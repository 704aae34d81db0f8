import AutorebalancerCore
import Foundation
import Logging
import Synchronization

/// Writes Events on the EMQX object and the Rebalance: `events.k8s.io/v1` (`regarding`, `reason`, `action`, `note`),
/// or `core/v1` where the API server does not serve `events.k8s.io/v1` (asked once through discovery). Repeats are
/// aggregated: the same reason and message on the same object patches the existing Event (`series` in v1, `count`
/// and `lastTimestamp` in core/v1) instead of creating a new one, so a rule that stays blocked does not add an Event
/// every cycle.
///
/// Events are writes: only the leader records them (`canWrite`). Failures are logged, never thrown (an Event is
/// never worth failing the loop for).
public final class EventRecorder: Sendable {
    /// Event types.
    public enum EventType: String, Sendable {
        case normal = "Normal"
        case warning = "Warning"
    }

    /// Reasons the agent uses.
    public enum Reason: String, Sendable, CaseIterable {
        case rebalanceCreated = "RebalanceCreated"
        case rebalanceCompleted = "RebalanceCompleted"
        case rebalanceFailed = "RebalanceFailed"
        case rebalanceBlocked = "RebalanceBlocked"
        /// Creating a decided Rebalance failed as many times in a row as `rebalances.alertAfterCreateFailures`.
        case rebalanceCreateFailed = "RebalanceCreateFailed"
        case rebalanceIneffective = "RebalanceIneffective"
        case rebalanceStuck = "RebalanceStuck"

        public var type: EventType {
            switch self {
            case .rebalanceCreated, .rebalanceCompleted: .normal
            default: .warning
            }
        }

        /// What the agent did or tried (`events.k8s.io/v1` `action`, machine-readable).
        public var action: String {
            switch self {
            case .rebalanceCreated, .rebalanceCreateFailed: "CreateRebalance"
            case .rebalanceBlocked: "Decide"
            case .rebalanceCompleted, .rebalanceIneffective: "JudgeOutcome"
            case .rebalanceFailed, .rebalanceStuck: "FollowRebalance"
            }
        }
    }

    /// Which Events API the server serves.
    enum Flavour: Sendable { case eventsV1, coreV1 }

    private struct Key: Hashable {
        var namespace: String
        var object: String
        var reason: String
        var message: String
    }

    private struct Aggregate {
        var name: String
        var count: Int
    }

    public static let component = "emqx-autorebalancer"
    private let api: any KubernetesAPI
    private let canWrite: @Sendable () -> Bool
    private let instance: String
    private let logger: Logger
    private let aggregates = Mutex<[Key: Aggregate]>([:])
    /// Set once discovery answered; `nil` until then (asked again at the next Event after a failed discovery).
    private let flavour = Mutex<Flavour?>(nil)

    /// - Parameters:
    ///   - canWrite: the leader gate; Events are skipped (debug log) while it is false.
    ///   - instance: `reportingInstance` (the leader identity).
    public init(api: any KubernetesAPI, canWrite: @escaping @Sendable () -> Bool, instance: String, logger: Logger) {
        self.api = api
        self.canWrite = canWrite
        self.instance = instance
        self.logger = logger
    }

    /// Records an Event on `object`. Returns the count the Event now has (1 when new), or `nil` when not written.
    @discardableResult
    public func record(_ reason: Reason, _ message: String, on object: ObjectReference, at now: Date) async -> Int? {
        guard canWrite() else {
            logger.debug("not the leader: Event \(reason.rawValue) not written: \(message)")
            return nil
        }
        let namespace = object.namespace ?? "default"
        let key = Key(
            namespace: namespace,
            object: "\(object.kind ?? "")/\(object.name ?? "")",
            reason: reason.rawValue,
            message: message
        )
        let flavour = await self.servedFlavour()
        if let existing = aggregates.withLock({ $0[key] }) {
            do {
                let count: Int
                switch flavour {
                case .eventsV1:
                    let series = EventSeries(
                        count: existing.count + 1,
                        lastObservedTime: KubernetesTime.formatMicro(now)
                    )
                    let patched = try await api.patchEventV1Series(
                        namespace: namespace,
                        name: existing.name,
                        series: series
                    )
                    count = patched.series?.count ?? series.count
                case .coreV1:
                    let patched = try await api.patchEvent(
                        namespace: namespace,
                        name: existing.name,
                        count: existing.count + 1,
                        lastTimestamp: KubernetesTime.format(now)
                    )
                    count = patched.count ?? existing.count + 1
                }
                aggregates.withLock { $0[key] = Aggregate(name: existing.name, count: count) }
                return count
            } catch let error as KubernetesError where error.code == .notFound {
                // The Event expired (default TTL 1 h): start a new one.
            } catch is CancellationError {
                return nil  // the agent is stopping
            } catch {
                logger.warning("cannot update Event \(existing.name) (\(reason.rawValue)): \(error)")
                return nil
            }
        }
        let nanos = UInt64(max(0, min(now.timeIntervalSince1970, 1e10)) * 1e9)
        // Time plus a hash of reason and message: two different Events in the same instant never share a name.
        let name =
            "\(object.name ?? "emqx").\(String(nanos, radix: 16))\(StableHash.shortHex(reason.rawValue + message))"
        do {
            switch flavour {
            case .eventsV1:
                _ = try await api.createEventV1(
                    EventsV1Event(
                        metadata: ObjectMeta(name: name, namespace: namespace),
                        eventTime: KubernetesTime.formatMicro(now),
                        reportingController: Self.component,
                        reportingInstance: Self.truncated(instance, bytes: EventsV1Event.shortLimit),
                        action: reason.action,
                        reason: reason.rawValue,
                        regarding: object,
                        note: Self.truncated(message, bytes: EventsV1Event.noteLimit),
                        type: reason.type.rawValue
                    )
                )
            case .coreV1:
                let time = KubernetesTime.format(now)
                _ = try await api.createEvent(
                    KubernetesEvent(
                        metadata: ObjectMeta(name: name, namespace: namespace),
                        involvedObject: object,
                        reason: reason.rawValue,
                        message: message,
                        type: reason.type.rawValue,
                        count: 1,
                        firstTimestamp: time,
                        lastTimestamp: time,
                        source: EventSource(component: Self.component),
                        reportingComponent: Self.component,
                        reportingInstance: instance,
                        action: reason.action
                    )
                )
            }
        } catch let error as KubernetesError where error.code == .alreadyExists {
            // Our own earlier attempt went through.
        } catch is CancellationError {
            return nil  // the agent is stopping
        } catch {
            logger.warning("cannot create Event \(reason.rawValue) on \(key.object): \(error)")
            return nil
        }
        aggregates.withLock { $0[key] = Aggregate(name: name, count: 1) }
        return 1
    }

    /// `events.k8s.io/v1` when the server serves its `events`, else core/v1; remembered once discovery answered.
    /// A failed discovery (other than "not served") writes v1 this time and asks again next time.
    func servedFlavour() async -> Flavour {
        if let known = flavour.withLock({ $0 }) { return known }
        do {
            let served = try await api.servedResources(groupVersion: KubernetesResource.eventsV1.groupVersion)
            let found: Flavour = served.contains("events") ? .eventsV1 : .coreV1
            flavour.withLock { $0 = found }
            if found == .coreV1 { logger.info("events.k8s.io/v1 has no events here: writing core/v1 Events") }
            return found
        } catch let error as KubernetesError where error.code == .notFound {
            flavour.withLock { $0 = .coreV1 }
            logger.info("events.k8s.io/v1 is not served: writing core/v1 Events")
            return .coreV1
        } catch {
            return .eventsV1
        }
    }

    /// `text` cut to at most `bytes` UTF-8 bytes on a character boundary, with `…` when cut (API server limits).
    static func truncated(_ text: String, bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        var out = ""
        var used = 0
        let ellipsis = "…"
        for character in text {
            let size = String(character).utf8.count
            if used + size + ellipsis.utf8.count > bytes { break }
            out.append(character)
            used += size
        }
        return out + ellipsis
    }
}
