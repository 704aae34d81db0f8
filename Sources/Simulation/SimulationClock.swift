import AutorebalancerCore
import Foundation

/// Simulated time that runs `speed` times faster than wall time, shared by the simulated EMQX cluster, the simulated
/// Kubernetes API and operator, and the agent when the demo drives it. It is a real `Clock`, so anything generic over
/// a clock (the agent loop, the operator's poll loop) runs on it unchanged.
///
/// Simulated instants are offsets from the clock's origin; `date(of:)` maps them to calendar dates starting at
/// `startDate`, so logs and Rebalance timestamps read like a real cluster's.
public struct SimulationClock: Clock, Sendable {
    public typealias Duration = Swift.Duration

    public struct Instant: InstantProtocol, Sendable {
        /// Simulated time elapsed since the clock's origin.
        public var offset: Swift.Duration

        public init(offset: Swift.Duration) { self.offset = offset }

        public func advanced(by duration: Swift.Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Swift.Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    /// How many simulated seconds pass per wall-clock second.
    public let speed: Double
    /// The calendar date of the origin.
    public let startDate: Date
    private let origin: ContinuousClock.Instant

    /// - Parameters:
    ///   - speed: simulated seconds per wall second (must be > 0).
    ///   - startDate: the calendar date the simulation starts at.
    public init(speed: Double = 1, startDate: Date = Date()) {
        precondition(speed > 0, "speed must be positive")
        self.speed = speed
        self.startDate = startDate
        self.origin = ContinuousClock.now
    }

    public var now: Instant {
        Instant(offset: (ContinuousClock.now - origin) * speed)
    }

    public var minimumResolution: Swift.Duration { .milliseconds(1) }

    public func sleep(until deadline: Instant, tolerance: Swift.Duration? = nil) async throws {
        let remaining = deadline.offset - now.offset
        if remaining > .zero {
            try await Task.sleep(for: remaining / speed)
        } else {
            try Task.checkCancellation()
        }
    }

    /// The calendar date of a simulated instant.
    public func date(of instant: Instant) -> Date {
        startDate.addingTimeInterval(instant.offset.seconds)
    }

    /// The calendar date now, in simulated time.
    public var date: Date { date(of: now) }
}
