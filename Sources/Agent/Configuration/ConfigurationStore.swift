import AutorebalancerCore
import Foundation
import Synchronization

/// The configuration and policies in force, swapped whole on a successful reload. The loop reads one consistent
/// generation per cycle.
public struct ActiveConfiguration: Sendable {
    public var configuration: AgentConfiguration
    /// Loaded policies by `metadata.name`, in load order.
    public var policies: [Policy]
    /// Increases on every successful reload.
    public var generation: Int

    public init(configuration: AgentConfiguration, policies: [Policy], generation: Int = 1) {
        self.configuration = configuration
        self.policies = policies
        self.generation = generation
    }

    /// The policies that apply to a cluster entry: those it names, or every policy.
    public func policies(for settings: ClusterSettings) -> [Policy] {
        settings.policies.isEmpty ? policies : policies.filter { settings.policies.contains($0.name) }
    }

    /// How often the loop runs: the shortest evaluation interval of any loaded policy (15 s without policies).
    public var evaluationInterval: TimeInterval {
        policies.map(\.evaluationInterval).min() ?? Policy.Defaults.evaluationInterval
    }
}

/// Holds the active configuration; the reloader replaces it, the loop reads it.
public final class ConfigurationStore: Sendable {
    private let state: Mutex<ActiveConfiguration>

    public init(_ initial: ActiveConfiguration) {
        state = Mutex(initial)
    }

    public var current: ActiveConfiguration { state.withLock { $0 } }

    /// Installs a new configuration and returns its generation.
    @discardableResult
    public func replace(configuration: AgentConfiguration, policies: [Policy]) -> Int {
        state.withLock { active in
            active = ActiveConfiguration(
                configuration: configuration,
                policies: policies,
                generation: active.generation + 1
            )
            return active.generation
        }
    }
}
