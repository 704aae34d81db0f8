import ServiceLifecycle

/// Drives a simulated EMQX cluster along a clock: one tick of simulated time per `tick` of the clock. With a
/// `SimulationClock` started together with the cluster, the cluster's `now` matches the clock's offset.
public struct EMQXClusterDriver<C: Clock>: Service where C.Duration == Duration {
    public let cluster: SimulatedEMQXCluster
    public let clock: C
    public let tick: Duration

    public init(cluster: SimulatedEMQXCluster, clock: C, tick: Duration = .seconds(1)) {
        self.cluster = cluster
        self.clock = clock
        self.tick = tick
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                var deadline = clock.now.advanced(by: tick)
                while true {
                    try await clock.sleep(until: deadline, tolerance: nil)
                    cluster.advance(by: tick)
                    deadline = deadline.advanced(by: tick)
                }
            }
        } catch is CancellationError {
            // Shutdown: the cluster simply stops moving.
        }
    }
}
