import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Observe
import TestSupport
import Testing

/// A throw-away self-signed certificate for 127.0.0.1, made with the openssl command.
struct SelfSignedCertificate {
    let certificatePEM: String
    let keyPEM: String

    static let openssl: String? = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    static func make() async throws -> SelfSignedCertificate {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await ChildProcess.run(
            openssl!,
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1",
                "-keyout", directory.appendingPathComponent("key.pem").path, "-out",
                directory.appendingPathComponent("cert.pem").path,
            ]
        )
        guard result.status == 0 else {
            throw CocoaError(
                .fileWriteUnknown,
                userInfo: [NSLocalizedDescriptionKey: "openssl failed: \(result.output)"]
            )
        }
        return SelfSignedCertificate(
            certificatePEM: try String(contentsOf: directory.appendingPathComponent("cert.pem"), encoding: .utf8),
            keyPEM: try String(contentsOf: directory.appendingPathComponent("key.pem"), encoding: .utf8)
        )
    }
}

/// Answers every request with one fixed body.
final class FixedResponder: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let body: String

    init(body: String) { self.body = body }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
            promise: nil
        )
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

struct TLSTests {
    static func withTLSServer<T: Sendable>(
        _ certificate: SelfSignedCertificate,
        body: String,
        _ run: @Sendable (Int) async throws -> T
    ) async throws -> T {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificate.certificatePEM.utf8))
        let key = try NIOSSLPrivateKey(bytes: Array(certificate.keyPEM.utf8), format: .pem)
        let context = try NIOSSLContext(
            configuration: .makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) },
                privateKey: .privateKey(key)
            )
        )
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(FixedResponder(body: body))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            let result = try await run(channel.localAddress!.port!)
            try await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }

    static let vector =
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"node":"emqx@a"},"value":[1,"5"]}]}}"#

    @Test(.enabled(if: SelfSignedCertificate.openssl != nil, "openssl not found; TLS tests skipped"))
    func untrustedServerFailsAndCustomCAWorks() async throws {
        let certificate = try await SelfSignedCertificate.make()
        try await Self.withTLSServer(certificate, body: Self.vector) { port in
            let request = ObservationRequest(
                cluster: ClusterReference(namespace: "ns", name: "c"),
                expectedNodes: [ExpectedNode(name: "emqx@a")]
            )
            let untrusted = try PrometheusSource(
                configuration: .init(baseURL: "https://127.0.0.1:\(port)", timeout: .seconds(30)),
                httpClient: .shared
            )
            let error = await #expect(throws: SourceFetchError.self) { try await untrusted.observe(request) }
            guard case .transport(_, let reason) = error else {
                Issue.record("not a transport error: \(String(describing: error))")
                return
            }
            #expect(reason.contains("TLS failure"))

            let trusted = try PrometheusSource(
                configuration: .init(
                    baseURL: "https://127.0.0.1:\(port)",
                    tls: SourceTLS(caPEM: certificate.certificatePEM),
                    timeout: .seconds(30)
                ),
                httpClient: .shared
            )
            let observation = try await trusted.observe(request)
            #expect(observation.nodes.first?.liveConnections == 5)
        }
    }

    @Test func caWithoutCertificateIsRejected() {
        #expect(throws: (any Error).self) {
            try PrometheusSource(
                configuration: .init(baseURL: "https://x", tls: SourceTLS(caPEM: "not a certificate")),
                httpClient: .shared
            )
        }
    }
}
