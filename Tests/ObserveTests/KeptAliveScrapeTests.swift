import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Observe
import Synchronization
import Testing

/// A loopback stats server that counts the connections it accepted and can close them all, as an EMQX node's
/// listener does with connections left idle.
final class StatsServer: Sendable {
    enum Answer: Sendable {
        /// HTTP/1.1 keep-alive, as EMQX answers.
        case keepAlive
        /// `Connection: close`, and the connection closed after the answer.
        case close
    }

    private struct State {
        var accepted = 0
        var open: [any Channel] = []
        var closed = 0
    }

    let answer: Answer
    let body: String
    private let state = Mutex(State())

    init(answer: Answer, body: String) {
        self.answer = answer
        self.body = body
    }

    var accepted: Int { state.withLock { $0.accepted } }
    /// Connections accepted and not closed yet, by either side.
    var stillOpen: Int { state.withLock { $0.accepted - $0.closed } }

    fileprivate func opened(_ channel: any Channel) {
        state.withLock {
            $0.accepted += 1
            $0.open.append(channel)
        }
        channel.closeFuture.whenComplete { _ in self.state.withLock { $0.closed += 1 } }
    }

    /// Closes every connection the server holds, and returns once they are closed on its side.
    func closeConnections() async {
        let open = state.withLock { state in
            defer { state.open = [] }
            return state.open
        }
        for channel in open { try? await channel.close() }
    }

    /// Serves on 127.0.0.1, over TLS with `certificate` when given, while `run` runs with the port.
    func serve<T: Sendable>(
        tls certificate: SelfSignedCertificate? = nil,
        _ run: @Sendable (Int) async throws -> T
    ) async throws -> T {
        let context = try certificate.map { certificate in
            try NIOSSLContext(
                configuration: .makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificate.certificatePEM.utf8))
                        .map { .certificate($0) },
                    privateKey: .privateKey(
                        try NIOSSLPrivateKey(bytes: Array(certificate.keyPEM.utf8), format: .pem)
                    )
                )
            )
        }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                self.opened(channel)
                return channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(StatsResponder(answer: answer, body: body))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            let result = try await run(channel.localAddress!.port!)
            await closeConnections()
            try await channel.close()
            return result
        } catch {
            await closeConnections()
            try? await channel.close()
            throw error
        }
    }
}

/// Answers every request with the server's stats body, as text/plain.
private final class StatsResponder: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let answer: StatsServer.Answer
    let body: String

    init(answer: StatsServer.Answer, body: String) {
        self.answer = answer
        self.body = body
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; version=0.0.4")
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        if answer == .close { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
            promise: nil
        )
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if answer == .close {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// Per-node scrapes keep their connections: the next cycle asks on the same one, a connection the node closed while
/// idle costs no answer, and a node that closes after each answer is still read every cycle.
struct KeptAliveScrapeTests {
    static let cluster = ClusterReference(namespace: "default", name: "emqx-ee")
    static let body = EMQXScrapeSourceTests.stats(live: 3333, connections: 3400, sessions: 3500)
    static let nodes = ["a", "b", "c", "d"]
    static let request = ObservationRequest(
        cluster: cluster,
        expectedNodes: nodes.map { ExpectedNode(name: "emqx@\($0)") }
    )

    /// Four nodes behind one loopback port (distinct paths), so every scrape of a cycle has the same target.
    static func source(port: Int, scheme: String = "http", tls: SourceTLS? = nil) throws -> EMQXScrapeSource {
        let targets = nodes.map { ("emqx@\($0)", "\(scheme)://127.0.0.1:\(port)/\($0)") }
        return try EMQXScrapeSource(
            configuration: .init(
                targets: Dictionary(uniqueKeysWithValues: targets),
                tls: tls,
                timeout: .seconds(30)
            ),
            httpClient: .shared
        )
    }

    static func expectEveryNodeRead(_ observation: SourceObservation) {
        #expect(observation.nodes.map(\.name) == nodes.map { "emqx@\($0)" })
        #expect(observation.nodes.allSatisfy { $0.liveConnections == 3333 && $0.sessions == 3500 })
        #expect(observation.warnings.isEmpty, "\(observation.warnings)")
    }

    @Test func theNextCycleAsksOnTheConnectionsOfTheLastOne() async throws {
        let server = StatsServer(answer: .keepAlive, body: Self.body)
        let accepted = try await server.serve { port in
            let source = try Self.source(port: port)
            Self.expectEveryNodeRead(try await source.observe(Self.request))
            let afterFirst = server.accepted
            for _ in 0..<3 { Self.expectEveryNodeRead(try await source.observe(Self.request)) }
            return (afterFirst, server.accepted)
        }
        // The first cycle opens at most one connection per node; the later cycles open none.
        #expect((1...Self.nodes.count).contains(accepted.0))
        #expect(accepted.1 == accepted.0)
    }

    @Test func connectionsTheNodeClosedWhileIdleCostNoAnswer() async throws {
        let server = StatsServer(answer: .keepAlive, body: Self.body)
        let accepted = try await server.serve { port in
            let source = try Self.source(port: port)
            Self.expectEveryNodeRead(try await source.observe(Self.request))
            let afterFirst = server.accepted
            await server.closeConnections()
            Self.expectEveryNodeRead(try await source.observe(Self.request))
            return (afterFirst, server.accepted)
        }
        #expect(accepted.1 > accepted.0)
    }

    @Test func aNodeThatClosesAfterEachAnswerIsReadEveryCycle() async throws {
        let server = StatsServer(answer: .close, body: Self.body)
        let accepted = try await server.serve { port in
            let source = try Self.source(port: port)
            for _ in 0..<3 { Self.expectEveryNodeRead(try await source.observe(Self.request)) }
            return server.accepted
        }
        // Nothing is kept from a closing answer: one connection per scrape.
        #expect(accepted == 3 * Self.nodes.count)
    }

    @Test func aSourceThatGoesClosesTheConnectionsItKept() async throws {
        let server = StatsServer(answer: .keepAlive, body: Self.body)
        let open = try await server.serve { port in
            var source: EMQXScrapeSource? = try Self.source(port: port)
            Self.expectEveryNodeRead(try await source!.observe(Self.request))
            let whileKept = server.stillOpen
            source = nil
            // The closes travel over loopback; bounded so that a leak fails the test instead of hanging it.
            for _ in 0..<600 where server.stillOpen > 0 { try await Task.sleep(for: .milliseconds(50)) }
            return (whileKept, server.stillOpen)
        }
        #expect(open.0 > 0)
        #expect(open.1 == 0)
    }

    @Test(.enabled(if: SelfSignedCertificate.openssl != nil, "openssl not found; TLS tests skipped"))
    func httpsNodesAreScrapedWithTheConfiguredCAAndRefusedWithout() async throws {
        let certificate = try await SelfSignedCertificate.make()
        let server = StatsServer(answer: .keepAlive, body: Self.body)
        try await server.serve(tls: certificate) { port in
            let untrusted = try Self.source(port: port, scheme: "https")
            let error = await #expect(throws: EMQXScrapeError.self) { try await untrusted.observe(Self.request) }
            #expect(String(describing: error).contains("emqx@a"))

            let trusted = try Self.source(
                port: port,
                scheme: "https",
                tls: SourceTLS(caPEM: certificate.certificatePEM)
            )
            Self.expectEveryNodeRead(try await trusted.observe(Self.request))
            Self.expectEveryNodeRead(try await trusted.observe(Self.request))
        }
    }
}
