import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import NIOSSL
import Synchronization

/// A cluster's EMQX API whose key is read when a call first needs it (a mounted Secret, an `EMQXAPIKey`'s Secret, a
/// file or variable named in the configuration) and kept until EMQX refuses it: after a 401 the next call reads it
/// again, so a rotated key is picked up without a restart and a wrong one costs one request per cycle.
public final class KeyedEMQXRebalanceAPI: EMQXRebalanceAPI {
    /// Reads the credential; `nil` when the API is called without one. Problems name what to fix, never a value.
    public typealias KeySource = @Sendable () async -> Result<EMQXAPICredential?, CredentialProblem>

    public let httpClient: HTTPClient
    public let baseURLs: [String]
    public let tls: TLSConfiguration?
    public let timeout: Duration
    private let readKey: KeySource
    private let cached = Mutex<EMQXAPICredential??>(nil)

    public init(
        httpClient: HTTPClient,
        baseURLs: [String],
        tls: TLSConfiguration? = nil,
        timeout: Duration = .seconds(10),
        key: @escaping KeySource
    ) {
        self.httpClient = httpClient
        self.baseURLs = baseURLs
        self.tls = tls
        self.timeout = timeout
        self.readKey = key
    }

    public func globalStatus() async throws(LoadRebalance.Failure) -> LoadRebalance.GlobalStatus {
        try await withClient { api throws(LoadRebalance.Failure) in try await api.globalStatus() }
    }

    public func nodes() async throws(LoadRebalance.Failure) -> [LoadRebalance.NodeInfo] {
        try await withClient { api throws(LoadRebalance.Failure) in try await api.nodes() }
    }

    public func start(coordinator: String, _ request: LoadRebalance.StartRequest) async throws(LoadRebalance.Failure) {
        try await withClient { api throws(LoadRebalance.Failure) in
            try await api.start(coordinator: coordinator, request)
        }
    }

    public func stop(coordinator: String) async throws(LoadRebalance.Failure) {
        try await withClient { api throws(LoadRebalance.Failure) in try await api.stop(coordinator: coordinator) }
    }

    private func withClient<T>(
        _ call: (HTTPEMQXRebalanceAPI) async throws(LoadRebalance.Failure) -> T
    ) async throws(LoadRebalance.Failure) -> T {
        let credential = try await credential()
        let api = HTTPEMQXRebalanceAPI(
            httpClient: httpClient,
            endpoint: .init(
                baseURLs: baseURLs,
                authorization: credential.map { HTTPBasic.header(username: $0.key, password: $0.secret) },
                tls: tls,
                timeout: timeout
            )
        )
        do {
            return try await call(api)
        } catch {
            if case .unauthorized = error { cached.withLock { $0 = nil } }
            throw error
        }
    }

    private func credential() async throws(LoadRebalance.Failure) -> EMQXAPICredential? {
        if let known = cached.withLock({ $0 }) { return known }
        switch await readKey() {
        case .success(let credential):
            cached.withLock { $0 = .some(credential) }
            return credential
        case .failure(let problem):
            // Not kept: a Secret that appears later is read on the next call.
            throw .noCredentials(reason: problem.description)
        }
    }
}
