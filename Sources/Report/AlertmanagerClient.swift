import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Logging
import NIOCore
import NIOSSL

/// One Alertmanager to send to.
public struct AlertmanagerTarget: Sendable, Hashable {
    /// The `receiver` label of `alerts_sent_total`.
    public var name: String
    /// Base URL, e.g. `http://alertmanager.monitoring:9093` (a path prefix is kept).
    public var url: String
    /// `Authorization` header value (e.g. `Bearer …`), read from a file or the environment by the caller.
    public var authorizationHeader: String?
    public var tls: TLSConfiguration?

    public init(name: String, url: String, authorizationHeader: String? = nil, tls: TLSConfiguration? = nil) {
        self.name = name
        self.url = url
        self.authorizationHeader = authorizationHeader
        self.tls = tls
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.name == rhs.name && lhs.url == rhs.url }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(url)
    }
}

/// The result of one POST to one Alertmanager.
public struct AlertDelivery: Sendable, Hashable {
    public var target: String
    public var succeeded: Bool
    /// The HTTP status, or `nil` when there was no answer.
    public var status: Int?
    /// Why it failed (Alertmanager's message, or the transport error).
    public var error: String?
}

/// Alertmanager API v2 client: `POST /api/v2/alerts` to every configured Alertmanager (they do not share alerts
/// unless clustered, and clustering is the operator's choice, so each gets all of them).
public struct AlertmanagerClient: Sendable {
    public var targets: [AlertmanagerTarget]
    public var timeout: Duration
    private let httpClient: HTTPClient
    private let metrics: AgentMetrics?

    public init(
        targets: [AlertmanagerTarget],
        httpClient: HTTPClient,
        timeout: Duration = .seconds(10),
        metrics: AgentMetrics? = nil
    ) {
        self.targets = targets
        self.timeout = timeout
        self.httpClient = httpClient
        self.metrics = metrics
    }

    /// Posts `alerts` to every target concurrently; one delivery result per target, in target order.
    public func post(_ alerts: [PostableAlert]) async -> [AlertDelivery] {
        guard !alerts.isEmpty else { return [] }
        let body: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            body = try encoder.encode(alerts)
        } catch {
            return targets.map {
                AlertDelivery(
                    target: $0.name,
                    succeeded: false,
                    status: nil,
                    error: "could not encode alerts: \(error)"
                )
            }
        }
        let results = await withTaskGroup(of: (Int, AlertDelivery).self) { group in
            for (index, target) in targets.enumerated() {
                group.addTask { (index, await send(body, to: target)) }
            }
            var results: [(Int, AlertDelivery)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        for result in results { metrics?.recordAlertSent(receiver: result.target, succeeded: result.succeeded) }
        return results
    }

    private func send(_ body: Data, to target: AlertmanagerTarget) async -> AlertDelivery {
        var base = target.url
        while base.hasSuffix("/") { base.removeLast() }
        var request = HTTPClientRequest(url: base + "/api/v2/alerts")
        request.method = .POST
        request.tlsConfiguration = target.tls
        request.headers.add(name: "Content-Type", value: "application/json")
        if let header = target.authorizationHeader { request.headers.add(name: "Authorization", value: header) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await httpClient.execute(request, timeout: TimeAmount(timeout))
            let answer = try await response.body.collect(upTo: 64 * 1024)
            let status = Int(response.status.code)
            if (200..<300).contains(status) {
                return AlertDelivery(target: target.name, succeeded: true, status: status, error: nil)
            }
            let text = String(buffer: answer).trimmingCharacters(in: .whitespacesAndNewlines)
            return AlertDelivery(
                target: target.name,
                succeeded: false,
                status: status,
                error: "\(base)/api/v2/alerts answered HTTP \(status): \(text)"
            )
        } catch {
            return AlertDelivery(
                target: target.name,
                succeeded: false,
                status: nil,
                error: "could not reach \(base)/api/v2/alerts: \(TransportFailureText.describe(error))"
            )
        }
    }
}
