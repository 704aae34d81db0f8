import AsyncHTTPClient
import AutorebalancerCore
import Foundation

/// Asks EMQX itself whether a rebalance is running: the operator can mark an EMQX 5 Rebalance `Failed ... is not
/// ready` while EMQX is still rebalancing (the donors' readiness gate drops `Ready`), so that phase is confirmed here.
public protocol EMQXRebalanceStatusProbe: Sendable {
    /// `true` while EMQX reports a running rebalance, `false` when none. Throws when EMQX cannot be asked.
    func isRebalancing(_ cluster: ClusterReference) async throws -> Bool
}

/// `GET /api/v5/load_rebalance/global_status` with basic auth (an EMQX API key and secret): running iff its
/// `rebalances` array is non-empty.
public struct HTTPEMQXRebalanceStatusProbe: EMQXRebalanceStatusProbe {
    /// How to reach one cluster's EMQX REST API.
    public struct Endpoint: Sendable, Hashable {
        /// e.g. `http://emqx-ee-dashboard.default.svc:18083`
        public var baseURL: String
        public var username: String
        public var password: String

        public init(baseURL: String, username: String, password: String) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.username = username
            self.password = password
        }
    }

    public let httpClient: HTTPClient
    public let endpoints: [ClusterReference: Endpoint]
    public let timeout: Duration

    public init(httpClient: HTTPClient, endpoints: [ClusterReference: Endpoint], timeout: Duration = .seconds(5)) {
        self.httpClient = httpClient
        self.endpoints = endpoints
        self.timeout = timeout
    }

    public func isRebalancing(_ cluster: ClusterReference) async throws -> Bool {
        guard let endpoint = endpoints[cluster] else {
            throw ProbeError(message: "no EMQX API endpoint configured for \(cluster)")
        }
        let api = HTTPEMQXRebalanceAPI(
            httpClient: httpClient,
            endpoint: .init(
                baseURLs: [endpoint.baseURL],
                authorization: HTTPBasic.header(username: endpoint.username, password: endpoint.password),
                timeout: timeout
            )
        )
        do {
            return try await !api.globalStatus().rebalances.isEmpty
        } catch {
            throw ProbeError(message: "EMQX global_status of \(cluster): \(error)")
        }
    }

    public struct ProbeError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}

/// The probe over each cluster's configured EMQX API client (the same one the `emqxAPI` actuator uses, so keys from
/// an `EMQXAPIKey` or a mounted Secret work here too).
public struct EMQXAPIStatusProbe: EMQXRebalanceStatusProbe {
    public let client: @Sendable (ClusterReference) -> (any EMQXRebalanceAPI)?

    public init(client: @escaping @Sendable (ClusterReference) -> (any EMQXRebalanceAPI)?) {
        self.client = client
    }

    public func isRebalancing(_ cluster: ClusterReference) async throws -> Bool {
        guard let api = client(cluster) else {
            throw HTTPEMQXRebalanceStatusProbe.ProbeError(message: "no EMQX API configured for \(cluster)")
        }
        do {
            return try await !api.globalStatus().rebalances.isEmpty
        } catch {
            throw HTTPEMQXRebalanceStatusProbe.ProbeError(message: "EMQX global_status of \(cluster): \(error)")
        }
    }
}
