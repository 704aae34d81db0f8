import AutorebalancerCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import TestSupport
import Testing

@testable import Kubernetes

/// TLS is verified by default: against the configured CA it works, without it the call fails, and
/// `insecure-skip-tls-verify` (loudly) skips verification. The certificates below are test-only (a CA and a server
/// certificate for 127.0.0.1, valid until 2126), made for this test.
struct TLSVerificationTests {
    static let caPEM = """
        -----BEGIN CERTIFICATE-----
        MIIDBzCCAe+gAwIBAgIUYj0qe4WyqFxRc/UOySG0nRSusc8wDQYJKoZIhvcNAQEL
        BQAwEjEQMA4GA1UEAwwHdGVzdC1jYTAgFw0yNjExMjUxNzIyMzVaGA8yMTI2MTEw
        MTE3MjIzNVowEjEQMA4GA1UEAwwHdGVzdC1jYTCCASIwDQYJKoZIhvcNAQEBBQAD
        ggEPADCCAQoCggEBALfI0X3jLoMSJYOE5osK9I1OOGXBbpddKKC9S5ji68myqIQD
        Mgk63EbD8RcPVsiCOsMZvM78ijM1m6c6bwVjaZ4Yhl+kqi9L2F9BMplO3WGD3OxD
        0GHwNlazYCMKRtgW456g7CVPQrAak+gynkFLIA5lcf23ahLMgBeWXT/3YpVi3IO5
        tc7+tCH6+pakSHQGsguFBTVogfkw7/NghJLfSNapzt1xMy4tAcTI33mE5pUBfWa5
        RPW5sDDmUam3pKZBuaJH7S11Gc9RmIo6gS0M0o5xJFXhRKCeR9JTPfyFC/cw1u7U
        b3zI8flRAHIGDNpqdwlYfQ6JjP8s4XWlQcTIjIECAwEAAaNTMFEwHQYDVR0OBBYE
        FKW+CBh+q8GYyU7eQS04SudWcAU+MB8GA1UdIwQYMBaAFKW+CBh+q8GYyU7eQS04
        SudWcAU+MA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADggEBABDpkaRB
        HVh1a+v/PIPKep6D75eZzHz6MDNqTsr4ei+do5TfzYgeh0zr2/ij1KgkRjIjPfmY
        it+Nz7I3FCW0eMn34kKQxQkpUtkS9v36kZ2bciQyOmCD8pJ2qBRUtqm8Dsx2KTcU
        cfw/iK9n2agwjOp4F+keCPFdzLIQtbNRJu+3hDvta8IBoiVO9DktX8vnA+1pNUMC
        civ0b0K3vqVD42NL9YhHFmz4ft4U5Lq5lb/hI9HJUmPYbTtbvDLUU+OvMkv9gnz6
        4YWBq5CfQ3/8FkL1Z1uFWCuOC6wRsdudnAhYNnxgGm2PVLdt4dyZ5bP0TH9vixF7
        +1xbuWiokhnvs/4=
        -----END CERTIFICATE-----
        """
    static let serverCertificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIDFDCCAfygAwIBAgIUBiSmzKV/cA3Lxj1Xm8Re7gPzlGcwDQYJKoZIhvcNAQEL
        BQAwEjEQMA4GA1UEAwwHdGVzdC1jYTAgFw0yNjExMjUxNzIyMzZaGA8yMTI2MTEw
        MTE3MjIzNlowFDESMBAGA1UEAwwJMTI3LjAuMC4xMIIBIjANBgkqhkiG9w0BAQEF
        AAOCAQ8AMIIBCgKCAQEA2jNUWsyQYAw6WAwWjJTAPxajNe4+Lyu1Fs9r6Tnh7LKb
        IXpzB/jtANAHRRETIxR6oyQx4G8SmrN0hPtyINFdi0UH9x9UTa5BH98IF1h4fGoi
        hbjght20WTYomOp41vXX1lbvKd2reUGSz0zNwFWMG9bXoa1BRJ4iQjnGSnUj5fSz
        luUL3BAjw6hBWYix8Wp30Lw+ucSXDXFOH58fwVZ8i6SU4gxXp2cwyFVF2c8t9afP
        J0ha3bfITGAJkVQq9bD1hVp8iUGVoELk+DyW/LqRpH/8aMz31L/eC/vE1M4Q7FSX
        dkjJe+3Yo3nlG2eikTfexGLUewQ+VccDOqU6Ds6XSwIDAQABo14wXDAPBgNVHREE
        CDAGhwR/AAABMAkGA1UdEwQCMAAwHQYDVR0OBBYEFE8L1jIcvhs3URrmqT67BOnh
        iwuwMB8GA1UdIwQYMBaAFKW+CBh+q8GYyU7eQS04SudWcAU+MA0GCSqGSIb3DQEB
        CwUAA4IBAQBUIzJ1UWWdS+vekchDxkwrU002ZTGHx5+XYTypU7sAdGa+KdVPsn6i
        oqVorUullPCZnJx6V34dadGHDBHTKQMUE4Ruvp8+RmuQDlZFdNFppP1Iy3IfCd6S
        wVgXsuVhHJavgmtKQ2Jb50r2pitt/IMa6KGGYAWHBhFDbs0VleiMpsl4IoouTmwD
        GU4Q3ZqPjZ14Iqwo74vI6lzROzXukU8wAT6hANmEIQ+j07hS3W/rHMcaT9t70vai
        Z0xc7PkWiCdstb7ihsdR/ldmih9LJ48qUtTc7uGRuwMkhf0wm6Gyxd3DN5kK3q6e
        wcWB25wRQ3RI9aOHydsvsFoPLkeRf/Ch
        -----END CERTIFICATE-----
        """
    static let serverKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDaM1RazJBgDDpY
        DBaMlMA/FqM17j4vK7UWz2vpOeHsspshenMH+O0A0AdFERMjFHqjJDHgbxKas3SE
        +3Ig0V2LRQf3H1RNrkEf3wgXWHh8aiKFuOCG3bRZNiiY6njW9dfWVu8p3at5QZLP
        TM3AVYwb1tehrUFEniJCOcZKdSPl9LOW5QvcECPDqEFZiLHxanfQvD65xJcNcU4f
        nx/BVnyLpJTiDFenZzDIVUXZzy31p88nSFrdt8hMYAmRVCr1sPWFWnyJQZWgQuT4
        PJb8upGkf/xozPfUv94L+8TUzhDsVJd2SMl77dijeeUbZ6KRN97EYtR7BD5VxwM6
        pToOzpdLAgMBAAECggEAO30ODPlDjWQYDgQxq58scKbP1XbALmUYqIDhd0MIJNum
        7rAvJ2fG2dddfAeFM6W0L8FA9eLibBnr9QuGmIrsGXm3C7lXZxxQdgt87bx5kNXw
        1otKb4qHTmE1HUejrVt2PmISL1RXmSX3DBxw5fSMz9Q5ksMlDbudNHgC5y7bnCgj
        UlVZ0VYoGz6fd6xU+5+bhx5deDrGqEpJKR/aw5h9Xndo7YQwOoqj20OICvUcldly
        LMWiLeRGziytk76rPd/QdnPkIkFvVUn1b7IpyraFN05mK+k/yuRVgnA38ZtydOy7
        nMTjdNd0T53c8i9b/v2Mn71To26/So772q7e64I5YQKBgQD0ZEdzyoUI/EoQJd5p
        +XWU+e8UE/oEocvOvLEHYinU21c10dhGQVi7e1QtcWUGmgpVFS4qpLxLZ1LH0paS
        K85XGOAOOR3MmSzz02fMi8p41r8f85rpBrVh2Av68wtceqhuKGD8A61L4qF7Q+xM
        Sv4+GEv9feJmBxKSiE8fiQITIQKBgQDkkJL5m9d+Vg3akoZF/fOQ1qU2ap1KeRna
        fYd5h09QcNrwBlZM63TREi79XVDOtLJ1msFg/mH8P0JYLu/uIYFi5UFvIoFO2Fg3
        +HikddGzo21+7eok7L5OZogZzeHo3vJz1GvFkJFIvvOdGS1R9Ohb/QFr8WKYgk8q
        i73R/Y4I6wKBgQDM/Yv9cOKzzcJl1w2/ADKDOj0yLytoVTo5d4ZZ9hm2ZCC7kP+C
        tm8yGtlZoKKnre96vGBT/oe+C7WgzF/lzX6vCbtt0rTPF7Bf+HQ5WwwC3cXEjDXk
        ve7IWkp6PQDLmkrK022+FWt3mmnuleOPftvQw9qBjuSmxcnrRRBxGB+4YQKBgH0M
        3FzUdsIYMtwy7mO83VWRGjL7gbMNLqfrpgNHlI1eMWrBDNZovDDm0e6s71koY7sU
        QFjg1Js9wP6eL4cJrdB9vZ8gMb8BfsKgnuDb1S+DapTXdhNds4ERd8Umb0MJN31H
        6u7ceaBjWMXK0JDWfYpWkkCMgHUQVl/gtKn/H4ahAoGBANU5Q307aooXRVKISN74
        pFj1NAyeZKXmpHI3AvYDA8QkPpxTQk6IQxYyA6uVZaqR1f5ZjgLNnx8vs0RTQ3Pq
        IF7CqCVESHN85KOB4BtyvgLILn0zJ/IysdNBJGv860qKVYu+3k4RXAf+ZrjT3KMd
        KpiOS2dKjXuDsh2WgIcGFMok
        -----END PRIVATE KEY-----
        """

    /// Answers every request with a discovery document.
    final class DiscoveryHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            let body = ByteBuffer(string: #"{"kind":"APIResourceList","resources":[{"name":"rebalances"}]}"#)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil
            )
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    static func withTLSServer<T>(
        certificate: String = serverCertificatePEM,
        key: String = serverKeyPEM,
        _ body: (String) async throws -> T
    ) async throws -> T {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificate.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem))
        )
        tls.minimumTLSVersion = .tlsv12
        let context = try NIOSSLContext(configuration: tls)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(DiscoveryHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        do {
            let result = try await body("https://127.0.0.1:\(port)")
            try await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }

    static func discover(
        _ url: String,
        ca: String?,
        insecure: Bool = false,
        logs: CapturedLogs = CapturedLogs()
    ) async throws -> [String] {
        let client = try HTTPKubernetesClient(
            configuration: .init(
                server: url,
                certificateAuthorityPEM: ca.map { Array($0.utf8) },
                insecureSkipTLSVerify: insecure,
                connectTimeout: .seconds(1),
                retry: .singleAttempt,
                warnings: insecure ? ["INSECURE: test"] : []
            ),
            logger: logs.logger()
        )
        do {
            let served = try await client.servedResources(groupVersion: "apps.emqx.io/v2beta1")
            try await client.shutdown()
            return served
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test func verifiedAgainstTheConfiguredCA() async throws {
        let served = try await Self.withTLSServer { url in try await Self.discover(url, ca: Self.caPEM) }
        #expect(served == ["rebalances"])
    }

    @Test func unknownCertificateIsRejectedByDefault() async throws {
        try await Self.withTLSServer { url in
            let error = await #expect(throws: KubernetesError.self) { try await Self.discover(url, ca: nil) }
            // Not an outage to retry: a configuration to fix, naming where trust came from.
            #expect(error?.code == .untrusted)
            #expect(
                error?.description.contains("not signed by the system trust store") == true,
                "\(String(describing: error))"
            )
        }
    }

    @Test func insecureSkipVerifyConnectsAndWarns() async throws {
        let logs = CapturedLogs()
        let served = try await Self.withTLSServer { url in
            try await Self.discover(url, ca: nil, insecure: true, logs: logs)
        }
        #expect(served == ["rebalances"])
        #expect(logs.contains("warning: INSECURE"))
    }
}
