import Act
import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Kubernetes
import Observe
import Synchronization

/// Builds each cluster's EMQX API client from its `emqxAPI:` (or `emqx:`) settings: the addresses, TLS, and where the
/// API key comes from. Clients are kept per settings, so a key read once is reused until EMQX refuses it; a reload
/// that changes the settings gets a new client.
public final class EMQXAPIFactory: Sendable {
    public let httpClient: HTTPClient
    public let environment: [String: String]
    /// Reads `EMQXAPIKey` objects and their Secrets (`nil`: such keys cannot be read in this process).
    public let keys: (any EMQXAPIKeyReader)?
    private let built = Mutex<[Key: any EMQXRebalanceAPI]>([:])

    struct Key: Hashable {
        var settings: EMQXAPISettings
        var cluster: ClusterReference
    }

    public init(httpClient: HTTPClient, environment: [String: String], keys: (any EMQXAPIKeyReader)?) {
        self.httpClient = httpClient
        self.environment = environment
        self.keys = keys
    }

    /// The cluster's EMQX API, or why it has none. A CA file that cannot be read makes it unavailable with the reason
    /// (checked again next cycle); an unreadable key shows when EMQX is first asked.
    public func access(_ settings: ClusterSettings, _ cluster: ClusterReference) -> EMQXAPIAccess {
        guard let api = settings.emqxAPI else { return .notConfigured }
        if case .bearer? = api.http.auth {
            return .unavailable(
                "emqxAPI gives a bearer token, but EMQX API keys are sent as username and password (emqxAPI.apiKey)"
            )
        }
        let key = Key(settings: api, cluster: cluster)
        if let existing = built.withLock({ $0[key] }) { return .available(existing) }
        let tls = Result { try api.http.sourceTLS()?.configuration() }
        if case .failure(let error) = tls { return .unavailable("its EMQX API TLS settings cannot be used: \(error)") }
        let client = KeyedEMQXRebalanceAPI(
            httpClient: httpClient,
            baseURLs: api.baseURLs(for: cluster),
            tls: try? tls.get(),
            timeout: .seconds(api.http.timeout),
            key: keySource(api, cluster: cluster)
        )
        built.withLock { $0[key] = client }
        return .available(client)
    }

    /// Where the key is read from, each time the client needs it.
    func keySource(_ api: EMQXAPISettings, cluster: ClusterReference) -> KeyedEMQXRebalanceAPI.KeySource {
        let environment = self.environment
        let keys = self.keys
        switch (api.apiKey, api.http.auth) {
        case (.secretDirectory(let directory)?, _):
            return {
                EMQXAPICredential.fromMountedSecret(
                    directory: directory,
                    read: { try String(contentsOfFile: $0, encoding: .utf8) }
                ).map { $0 }
            }
        case (.emqxAPIKey(let name)?, _):
            return {
                guard let keys else {
                    return .failure(.init("EMQXAPIKey \(name) cannot be read: this process has no Kubernetes client"))
                }
                return await keys.credential(namespace: cluster.namespace, keyName: name).map { $0 }
            }
        case (nil, .basic(let username, let password)?):
            return {
                do {
                    return .success(
                        EMQXAPICredential(key: username, secret: try password.resolve(environment: environment))
                    )
                } catch {
                    return .failure(.init("\(error)"))
                }
            }
        case (nil, _):
            return { .success(nil) }
        }
    }
}
