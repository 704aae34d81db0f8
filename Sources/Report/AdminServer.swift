import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The admin HTTP server: `/metrics` (text exposition 0.0.4), `/healthz` (process alive, loop not stuck) and
/// `/readyz` (configuration loaded, sources reached once). A `Service`: it runs until graceful shutdown.
public struct AdminServer: Service {
    public static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    public var host: String
    /// 0 binds an ephemeral port; `onListening` tells which.
    public var port: Int
    public let metrics: AgentMetrics
    public let health: AgentHealth
    public var logger: Logger
    private let onListening: @Sendable (Int) async -> Void

    public init(
        host: String = "0.0.0.0",
        port: Int = 9464,
        metrics: AgentMetrics,
        health: AgentHealth,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.host = host
        self.port = port
        self.metrics = metrics
        self.health = health
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let router = Router()
        let metrics = metrics
        let health = health
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: Self.metricsContentType],
                body: .init(byteBuffer: ByteBuffer(string: metrics.render()))
            )
        }
        router.get("/healthz") { _, _ -> Response in
            Self.probeResponse(health.liveness())
        }
        router.get("/readyz") { _, _ -> Response in
            Self.probeResponse(health.readiness())
        }
        let onListening = onListening
        let logger = logger
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                logger.info("admin server listening", metadata: ["port": "\(bound)"])
                await onListening(bound)
            },
            logger: logger
        )
        try await app.run()
    }

    static func probeResponse(_ verdict: AgentHealth.Verdict) -> Response {
        let text = verdict.ok ? "ok\n" : verdict.reasons.joined(separator: "\n") + "\n"
        return Response(
            status: verdict.ok ? .ok : .serviceUnavailable,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}
