import AutorebalancerCore
import Foundation

/// The order the lifecycles walk objects in: oldest `creationTimestamp` first, then by name (objects without a
/// readable timestamp first), so every replica plans the same actions in the same order.
enum CreationOrder {
    static func oldestFirst<T>(_ items: [T], _ metadata: (T) -> ObjectMeta) -> [T] {
        items.sorted {
            let (left, right) = (metadata($0), metadata($1))
            let a = KubernetesTime.parse(left.creationTimestamp) ?? .distantPast
            let b = KubernetesTime.parse(right.creationTimestamp) ?? .distantPast
            return a == b ? (left.name ?? "") < (right.name ?? "") : a < b
        }
    }
}
