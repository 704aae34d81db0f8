import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// One cluster's EMQX rebalance API: what the `emqxAPI` actuator calls and where EMQX-only clusters learn their
/// nodes. One live implementation over HTTP (`HTTPEMQXRebalanceAPI`); the simulated EMQX nodes serve the same routes.
///
/// Every method throws `LoadRebalance.Failure`, never a transport type.
public protocol EMQXRebalanceAPI: Sendable {
    /// `GET /api/v5/load_rebalance/global_status`.
    func globalStatus() async throws(LoadRebalance.Failure) -> LoadRebalance.GlobalStatus
    /// `GET /api/v5/nodes`.
    func nodes() async throws(LoadRebalance.Failure) -> [LoadRebalance.NodeInfo]
    /// `POST /api/v5/load_rebalance/{coordinator}/start`, sent exactly once: never retried, never sent to a second
    /// node, because after a lost answer EMQX may have started it (only `global_status` can tell).
    func start(coordinator: String, _ request: LoadRebalance.StartRequest) async throws(LoadRebalance.Failure)
    /// `POST /api/v5/load_rebalance/{coordinator}/stop`.
    func stop(coordinator: String) async throws(LoadRebalance.Failure)
}

/// `EMQXRebalanceAPI` over HTTP with an API key as basic auth. Reads (`global_status`, `nodes`) go to the base URLs
/// in turn until one answers; writes go to the first only. Errors name the URL without any credentials.
public struct HTTPEMQXRebalanceAPI: EMQXRebalanceAPI {
    public struct Endpoint: Sendable {
        /// Base URLs of the cluster's EMQX API (`http://emqx-dashboard.emqx.svc:18083`), tried in order for reads.
        public var baseURLs: [String]
        /// The `Authorization` header value (`Basic …`); never logged.
        public var authorization: String?
        public var tls: TLSConfiguration?
        public var timeout: Duration

        public init(
            baseURLs: [String],
            authorization: String?,
            tls: TLSConfiguration? = nil,
            timeout: Duration = .seconds(10)
        ) {
            self.baseURLs = baseURLs.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            self.authorization = authorization
            self.tls = tls
            self.timeout = timeout
        }
    }

    public let httpClient: HTTPClient
    public let endpoint: Endpoint
    /// Answers larger than this are refused (a cluster of a thousand nodes answers well under 1 MiB).
    public var bodyLimit = 4 << 20

    public init(httpClient: HTTPClient, endpoint: Endpoint) {
        self.httpClient = httpClient
        self.endpoint = endpoint
    }

    public func globalStatus() async throws(LoadRebalance.Failure) -> LoadRebalance.GlobalStatus {
        try await read("/api/v5/load_rebalance/global_status", as: LoadRebalance.GlobalStatus.self)
    }

    public func nodes() async throws(LoadRebalance.Failure) -> [LoadRebalance.NodeInfo] {
        try await read("/api/v5/nodes", as: [LoadRebalance.NodeInfo].self)
    }

    public func start(coordinator: String, _ request: LoadRebalance.StartRequest) async throws(LoadRebalance.Failure) {
        try await write(path: "/api/v5/load_rebalance/\(Self.escape(coordinator))/start", body: request.body())
    }

    public func stop(coordinator: String) async throws(LoadRebalance.Failure) {
        try await write(path: "/api/v5/load_rebalance/\(Self.escape(coordinator))/stop", body: Data("{}".utf8))
    }

    // MARK: Exchange

    private func read<T: Decodable>(_ path: String, as type: T.Type) async throws(LoadRebalance.Failure) -> T {
        guard !endpoint.baseURLs.isEmpty else { throw .unreachable(reason: "no EMQX API address is configured") }
        var last: LoadRebalance.Failure = .unreachable(reason: "no EMQX API address answered")
        for base in endpoint.baseURLs {
            let url = base + path
            do {
                let (status, body) = try await exchange(url: url, method: .GET, body: nil)
                if let failure = LoadRebalance.Failure.classify(status: status, body: body) {
                    // A refusal of the credentials or the route is the same on every node: do not ask them all.
                    if failure.provesNothingStarted { throw failure }
                    last = failure
                    continue
                }
                do {
                    return try JSONDecoder().decode(T.self, from: body)
                } catch {
                    last = .unexpected(
                        status: status,
                        message: "\(Self.redacted(url)) answered a body that is not the expected JSON"
                    )
                }
            } catch let failure as LoadRebalance.Failure where failure.provesNothingStarted {
                throw failure
            } catch let failure as LoadRebalance.Failure {
                last = failure
            } catch {
                last = .unreachable(reason: "\(Self.redacted(url)): \(Self.describe(error))")
            }
        }
        throw last
    }

    private func write(path: String, body: Data) async throws(LoadRebalance.Failure) {
        guard let base = endpoint.baseURLs.first else {
            throw .unreachable(reason: "no EMQX API address is configured")
        }
        let url = base + path
        let status: Int
        let answer: Data
        do {
            (status, answer) = try await exchange(url: url, method: .POST, body: body)
        } catch {
            throw .unreachable(reason: "\(Self.redacted(url)): \(Self.describe(error))")
        }
        if let failure = LoadRebalance.Failure.classify(status: status, body: answer) { throw failure }
    }

    private func exchange(url: String, method: HTTPMethod, body: Data?) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.tlsConfiguration = endpoint.tls
        if let authorization = endpoint.authorization {
            request.headers.add(name: "Authorization", value: authorization)
        }
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let timeout = TimeAmount(min(max(endpoint.timeout, .milliseconds(1)), .seconds(3600)))
        let response = try await httpClient.execute(request, timeout: timeout)
        let collected = try await response.body.collect(upTo: bodyLimit)
        return (Int(response.status.code), Data(collected.readableBytesView))
    }

    /// The URL with any `user:password@` removed.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.user != nil || components.password != nil else {
            return url
        }
        components.user = nil
        components.password = nil
        return components.string ?? url
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
                return "no answer within the timeout"
            }
            if error == .remoteConnectionClosed { return "the connection was closed before an answer" }
        }
        if error is NIOTooManyBytesError { return "the answer is larger than the limit" }
        if error is NIOSSLError || error is BoringSSLError {
            return "TLS failure (\(error)); check the CA configured for this cluster"
        }
        return TransportFailureText.describe(error)
    }

    /// Node names hold `@` and `.`: percent-encode anything outside the unreserved set, as EMQX's router decodes it.
    static func escape(_ segment: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~@")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }
}

/// HTTP Basic credentials as a header value (EMQX API keys are the user name, their secrets the password).
public enum HTTPBasic {
    public static func header(username: String, password: String) -> String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }
}
