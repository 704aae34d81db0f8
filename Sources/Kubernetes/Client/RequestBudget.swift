/// The time left for the Kubernetes requests made within a task (a cluster's cycle): each attempt's timeout is cut to
/// what is left, and no retry starts that could not get an answer in it. An API server that accepts connections and
/// never answers then ends the cycle with "did not answer within …" instead of having the cycle cut off mid-retry.
///
/// A task-local, as `RequestTrail`: the loop that owns the budget sets it, and the KubernetesAPI calls in between
/// need not carry it. On wall-clock time, as the HTTP client's own timeouts are.
public struct RequestBudget: Sendable {
    @TaskLocal public static var current: RequestBudget?

    /// The whole budget (for messages: "the cycle's budget of 20s").
    public let total: Duration
    public let deadline: ContinuousClock.Instant

    /// Requests must be done `margin` before the end of `total`, so that their own failure, not the cycle's cut,
    /// is what the cycle reports.
    public init(total: Duration, margin: Duration = .zero, from start: ContinuousClock.Instant = .now) {
        self.total = total
        self.deadline = start.advanced(by: total - min(margin, total))
    }

    /// A cycle's budget: requests end a twentieth of it (at most a second) early.
    public init(cycle total: Duration) {
        self.init(total: total, margin: min(total / 20, .seconds(1)))
    }

    /// What is left now (zero once it has passed).
    public var remaining: Duration {
        max(.zero, ContinuousClock.now.duration(to: deadline))
    }

    /// The timeout of an attempt: the client's own, or what is left of the budget when that is less.
    public static func attemptTimeout(_ timeout: Duration) -> Duration {
        guard let budget = current else { return timeout }
        return min(timeout, budget.remaining)
    }

    /// Whether a retry after `delay` would still have `minimum` left to get its answer in.
    public static func allowsRetry(after delay: Duration, minimum: Duration) -> Bool {
        guard let budget = current else { return true }
        return budget.remaining > delay + minimum
    }
}
