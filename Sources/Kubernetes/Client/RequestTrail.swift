import Synchronization

/// The last failed attempt of any Kubernetes request made within a task (and its child tasks), so that work cut off
/// by a deadline can still say why it was slow: a cycle that hits its budget while a request waits out its retries
/// reports that request's failure instead of only "did not finish in time".
///
/// A task-local rather than a parameter: it is a diagnostic side channel of the HTTP client, read by whoever set it,
/// and every KubernetesAPI call between the two would otherwise have to carry it.
public final class RequestTrail: Sendable {
    @TaskLocal public static var current: RequestTrail?

    private let last = Mutex<String?>(nil)

    public init() {}

    /// Records a failed attempt, e.g. `get emqxes.apps.emqx.io emqx/emqx-ee: API server unavailable: no answer
    /// within 10s (attempt 2 of 4)`.
    public func record(_ failure: String) {
        last.withLock { $0 = failure }
    }

    /// The latest failed attempt, if any.
    public var latest: String? { last.withLock { $0 } }
}
