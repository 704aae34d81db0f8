/// Bounded retries with jittered exponential backoff for transient failures (transport errors, timeouts, 429, 5xx).
/// Other 4xx answers are never retried.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in total, including the first. Default 4.
    public var maxAttempts: Int
    /// Delay before the first retry. Default 200 ms.
    public var baseDelay: Duration
    /// Upper bound of any one delay (also caps `Retry-After`). Default 10 s.
    public var maxDelay: Duration

    public init(maxAttempts: Int = 4, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(10)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// One attempt, no retries. (Not called `none`, which reads as `Optional.none` where a `RetryPolicy?` is expected.)
    public static let singleAttempt = RetryPolicy(maxAttempts: 1)

    /// The delay before retry number `retry` (1-based): `Retry-After` when the server sent one, else
    /// `base * 2^(retry-1)` with "equal jitter" (half fixed, half random), capped at `maxDelay`.
    /// - Parameter random: a number in `0..<1` (injected so tests are deterministic).
    public func delay(beforeRetry retry: Int, retryAfterSeconds: Double?, random: Double) -> Duration {
        if let retryAfterSeconds, retryAfterSeconds >= 0 {
            // A server's number: capped before it becomes a Duration, so no value of it can overflow.
            return min(Duration.milliseconds(Int64(min(retryAfterSeconds, 1e6) * 1000)), maxDelay)
        }
        let exponent = min(max(retry - 1, 0), 20)
        let full = min(baseDelay * (1 << exponent), maxDelay)
        let jitter = max(0, min(random, 1))
        return full / 2 + full / 2 * jitter
    }

}
