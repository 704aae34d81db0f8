import Foundation
import Logging
import ServiceLifecycle

/// Sends the agent's alerts to Alertmanager without ever blocking the evaluation loop: the loop ``submit(_:at:)``s
/// the complete set of active alerts each cycle; this `Service` keeps only the newest set, runs the
/// ``AlertKeeper`` over it and posts what is due.
public final class AlertmanagerNotifier: Service, Sendable {
    private let client: AlertmanagerClient
    private let logger: Logger
    private let stream: AsyncStream<(alerts: [AgentAlert], time: Date)>
    private let continuation: AsyncStream<(alerts: [AgentAlert], time: Date)>.Continuation
    private let keeperConfiguration: AlertKeeper.Configuration

    public init(client: AlertmanagerClient, keeper: AlertKeeper.Configuration, logger: Logger) {
        self.client = client
        self.logger = logger
        self.keeperConfiguration = keeper
        // Only the newest set matters: an older one is superseded, not lost.
        (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Hands over the alerts active at `time`. Never waits.
    public func submit(_ alerts: [AgentAlert], at time: Date) {
        continuation.yield((alerts, time))
    }

    public func run() async throws {
        var keeper = AlertKeeper(configuration: keeperConfiguration)
        let continuation = continuation
        try await withGracefulShutdownHandler {
            for await (alerts, time) in stream {
                let due = keeper.update(active: alerts, now: time)
                guard !due.isEmpty else { continue }
                for delivery in await client.post(due) where !delivery.succeeded {
                    logger.warning(
                        "alert delivery failed",
                        metadata: [
                            "receiver": "\(delivery.target)", "error": "\(delivery.error ?? "")",
                        ]
                    )
                }
            }
        } onGracefulShutdown: {
            continuation.finish()
        }
    }
}
