import AsyncHTTPClient
import AutorebalancerCore
import Crypto
import Foundation
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// What the webhook receives: one JSON object per POST.
///
/// `{"type":"decision","time":"…","decision":{…DecisionRecord…}}` or
/// `{"type":"alert","time":"…","status":"firing|resolved","alert":{…PostableAlert…}}`.
public enum WebhookMessage: Sendable, Hashable, Encodable {
    case decision(DecisionRecord)
    case alert(PostableAlert, resolved: Bool, at: Date)

    enum CodingKeys: String, CodingKey { case type, time, status, decision, alert }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .decision(let record):
            try c.encode("decision", forKey: .type)
            try c.encode(KubernetesTime.format(record.time), forKey: .time)
            try c.encode(record, forKey: .decision)
        case .alert(let alert, let resolved, let time):
            try c.encode("alert", forKey: .type)
            try c.encode(KubernetesTime.format(time), forKey: .time)
            try c.encode(resolved ? "resolved" : "firing", forKey: .status)
            try c.encode(alert, forKey: .alert)
        }
    }

    /// The body bytes (sorted keys, so a signature over them is reproducible).
    public func body() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// A generic JSON webhook: POSTs each message with an optional bearer token and an optional HMAC-SHA256 signature
/// (`X-Autorebalancer-Signature: sha256=<hex of HMAC(secret, body)>`), retrying with exponential backoff.
///
/// Never blocks the loop: ``submit(_:)`` puts the message in a bounded queue; when it is full the oldest message is
/// dropped and `notifications_dropped_total` counts it. Runs as a `Service`.
public final class WebhookNotifier: Service, Sendable {
    public struct Configuration: Sendable {
        /// Name for logs and the `receiver` metric label.
        public var name: String
        public var url: String
        public var bearerToken: String?
        /// Secret for the signature header; `nil` sends no signature.
        public var signingSecret: String?
        public var tls: TLSConfiguration?
        public var timeout: Duration
        /// Attempts per message, the first included.
        public var maxAttempts: Int
        public var initialBackoff: Duration
        public var maximumBackoff: Duration
        public var queueCapacity: Int

        public init(
            name: String,
            url: String,
            bearerToken: String? = nil,
            signingSecret: String? = nil,
            tls: TLSConfiguration? = nil,
            timeout: Duration = .seconds(10),
            maxAttempts: Int = 5,
            initialBackoff: Duration = .seconds(1),
            maximumBackoff: Duration = .seconds(30),
            queueCapacity: Int = 256
        ) {
            self.name = name
            self.url = url
            self.bearerToken = bearerToken
            self.signingSecret = signingSecret
            self.tls = tls
            self.timeout = timeout
            self.maxAttempts = max(1, maxAttempts)
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
            self.queueCapacity = max(1, queueCapacity)
        }
    }

    public static let signatureHeader = "X-Autorebalancer-Signature"

    public let configuration: Configuration
    private let httpClient: HTTPClient
    private let metrics: AgentMetrics?
    private let logger: Logger
    private let clock: any Clock<Duration>
    private let stream: AsyncStream<WebhookMessage>
    private let continuation: AsyncStream<WebhookMessage>.Continuation

    /// - Parameter clock: times the backoff between attempts (a manual clock in tests).
    public init(
        configuration: Configuration,
        httpClient: HTTPClient,
        metrics: AgentMetrics?,
        logger: Logger,
        clock: some Clock<Duration> = ContinuousClock()
    ) {
        self.configuration = configuration
        self.clock = clock
        self.httpClient = httpClient
        self.metrics = metrics
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(configuration.queueCapacity))
    }

    /// Queues a message; returns at once. Returns `false` when an older message had to be dropped for it.
    @discardableResult
    public func submit(_ message: WebhookMessage) -> Bool {
        switch continuation.yield(message) {
        case .dropped:
            metrics?.recordNotificationDropped(receiver: configuration.name)
            logger.warning(
                "webhook queue full, dropped the oldest message",
                metadata: ["receiver": "\(configuration.name)"]
            )
            return false
        case .enqueued, .terminated:
            return true
        @unknown default:
            return true
        }
    }

    /// The signature header value for `body`.
    public static func signature(secret: String, body: some Collection<UInt8>) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(body), using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + code.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }

    public func run() async throws {
        let continuation = continuation
        await withGracefulShutdownHandler {
            for await message in stream {
                await deliver(message)
            }
        } onGracefulShutdown: {
            continuation.finish()
        }
    }

    /// Delivers one message with retries; `true` when the receiver accepted it.
    @discardableResult
    func deliver(_ message: WebhookMessage) async -> Bool {
        let body: Data
        do { body = try message.body() } catch {
            logger.error("could not encode webhook message", metadata: ["error": "\(error)"])
            return false
        }
        var backoff = configuration.initialBackoff
        for attempt in 1...configuration.maxAttempts {
            let outcome = await post(body)
            switch outcome {
            case .delivered:
                metrics?.recordAlertSent(receiver: configuration.name, succeeded: true)
                return true
            case .rejected(let reason):
                metrics?.recordAlertSent(receiver: configuration.name, succeeded: false)
                logger.warning(
                    "webhook rejected the message; not retrying",
                    metadata: ["receiver": "\(configuration.name)", "error": "\(reason)"]
                )
                return false
            case .retryable(let reason):
                metrics?.recordAlertSent(receiver: configuration.name, succeeded: false)
                guard attempt < configuration.maxAttempts else {
                    logger.warning(
                        "webhook delivery failed, giving up",
                        metadata: [
                            "receiver": "\(configuration.name)", "attempts": "\(attempt)", "error": "\(reason)",
                        ]
                    )
                    return false
                }
                do { try await clock.sleep(for: backoff) } catch { return false }
                backoff = min(backoff * 2, configuration.maximumBackoff)
            }
        }
        return false
    }

    private enum Outcome {
        case delivered
        case rejected(String)
        case retryable(String)
    }

    private func post(_ body: Data) async -> Outcome {
        var request = HTTPClientRequest(url: configuration.url)
        request.method = .POST
        request.tlsConfiguration = configuration.tls
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "emqx-autorebalancer")
        if let token = configuration.bearerToken {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        if let secret = configuration.signingSecret {
            request.headers.add(name: Self.signatureHeader, value: Self.signature(secret: secret, body: body))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await httpClient.execute(request, timeout: TimeAmount(configuration.timeout))
            _ = try await response.body.collect(upTo: 64 * 1024)
            let status = Int(response.status.code)
            switch status {
            case 200..<300: return .delivered
            case 408, 425, 429, 500...599: return .retryable("\(configuration.url) answered HTTP \(status)")
            default: return .rejected("\(configuration.url) answered HTTP \(status)")
            }
        } catch {
            return .retryable("could not reach \(configuration.url): \(TransportFailureText.describe(error))")
        }
    }
}
