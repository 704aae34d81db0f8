import ServiceLifecycle

/// The loop both electors run as a service: one round every retry period until the process stops (graceful shutdown
/// or cancellation), then their Leases are released so the others take over at once instead of after expiry. A round
/// that lost a Lease involuntarily throws, which ends the process before it can write again.
func runElectionRounds<C: Clock>(
    every period: Duration,
    clock: C,
    round: () async throws -> Void,
    release: () async -> Void
) async throws where C.Duration == Duration {
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
        try await round()
        do {
            try await cancelWhenGracefulShutdown { try await clock.sleep(for: period) }
        } catch {
            break
        }
    }
    await release()
}
