import AutorebalancerCore
import Kubernetes

/// Whether the agent can reach a cluster's EMQX API, as the wiring knows it from the configuration: with a client,
/// or why not (worded to follow "…; " in a sentence). Whether the key works shows only when EMQX is asked.
public enum EMQXAPIAccess: Sendable {
    case available(any EMQXRebalanceAPI)
    case unavailable(String)

    /// No `emqxAPI:` settings for the cluster.
    public static let notConfigured = EMQXAPIAccess.unavailable(
        "no EMQX API credentials are configured for it (emqxAPI.apiKey in the cluster's entry, see docs/configuration.md)"
    )

    public var client: (any EMQXRebalanceAPI)? {
        if case .available(let client) = self { return client }
        return nil
    }

    /// What the cluster plan is made with.
    public var directActing: DirectActing {
        switch self {
        case .available: .available
        case .unavailable(let why): .unavailable(why)
        }
    }
}
