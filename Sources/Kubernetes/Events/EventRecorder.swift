import AutorebalancerCore
import Foundation
import Logging
import Synchronization

/// Writes `core/v1` Events on the EMQX object, aggregated like kubectl shows them: the same reason and message on the
/// same object patches `count` and `lastTimestamp` of the existing Event instead of creating a new one, so a rule that
/// stays blocked does not add an Event every cycle.
///
/// Events are writes: only the leader records them (`canWrite`). Failures are logged, never thrown (an Event is
/// never worth failing the loop for).
public final class EventRecorder: Sendable {
    /// Event types.
    public enum EventType: String, Sendable { case normal = "Normal", warning = "Warning" }

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
    }

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

    /// - Parameters:
    ///   - canWrite: the leader gate; Events are skipped (debug log) while it is false.
    ///   - instance: `reportingInstance` (the leader identity).
    public init(api: any KubernetesAPI, canWrite: @escaping @Sendable () -> Bool, instance: String, logger: Logger) {
        self.api = api
        self.canWrite = canWrite
        self.instance = instance
        self.logger = logger
    }

    /// 8 hex digits of FNV-1a (stable across processes, unlike `Hasher`).
    static func hash(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash >> 32, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// Records an Event on `object`. Returns the count the Event now has (1 when new), or `nil` when not written.
    @discardableResult
    public func record(_ reason: Reason, _ message: String, on object: ObjectReference, at now: Date) async -> Int? {
        guard canWrite() else {
            logger.debug("not the leader: Event \(reason.rawValue) not written: \(message)")
            return nil
        }
        let namespace = object.namespace ?? "default"
        let key = Key(namespace: namespace, object: "\(object.kind ?? "")/\(object.name ?? "")", reason: reason.rawValue, message: message)
        let time = KubernetesTime.format(now)
        if let existing = aggregates.withLock({ $0[key] }) {
            do {
                let patched = try await api.patchEvent(namespace: namespace, name: existing.name, count: existing.count + 1, lastTimestamp: time)
                let count = patched.count ?? existing.count + 1
                aggregates.withLock { $0[key] = Aggregate(name: existing.name, count: count) }
                return count
            } catch let error as KubernetesError where error.code == .notFound {
                // The Event expired (default TTL 1 h): start a new one.
            } catch {
                logger.warning("cannot update Event \(existing.name) (\(reason.rawValue)): \(error)")
                return nil
            }
        }
        let nanos = UInt64(max(0, now.timeIntervalSince1970) * 1e9)
        // Time plus a hash of reason and message: two different Events in the same instant never share a name.
        let name = "\(object.name ?? "emqx").\(String(nanos, radix: 16))\(Self.hash(reason.rawValue + message))"
        let event = KubernetesEvent(
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
            reportingInstance: instance
        )
        do {
            _ = try await api.createEvent(event)
        } catch let error as KubernetesError where error.code == .alreadyExists {
            // Our own earlier attempt went through.
        } catch {
            logger.warning("cannot create Event \(reason.rawValue) on \(key.object): \(error)")
            return nil
        }
        aggregates.withLock { $0[key] = Aggregate(name: name, count: 1) }
        return 1
    }
}
