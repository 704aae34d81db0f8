import AutorebalancerCore
import Foundation

/// What a reload changes, split by when it takes effect: most settings from the next cycle (`dryRun`, `clusters`,
/// the policies, the create retry), some only after a restart because the process built its parts from them at
/// start-up (the admin server's `listen`, leader election, the notifiers, how Rebalances are followed, the EMQX API
/// access of clusters). Pure.
public struct ConfigurationChange: Sendable, Hashable {
    /// The configuration to put in force: the loaded one, with the restart-only settings kept as they run.
    public var applied: AgentConfiguration
    /// Changed settings that take effect from the next cycle, each as `name: old → new` where that is short.
    public var effective: [String]
    /// Changed settings that take effect only after a restart, each as `name: old → new` where that is short.
    public var needsRestart: [String]

    /// - Parameters:
    ///   - running: the configuration in force.
    ///   - loaded: the configuration just read.
    ///   - dryRunLock: why this process stays in dry run whatever `dryRun:` says (see `AgentAssembly.dryRunLock`).
    public init(running: AgentConfiguration, loaded: AgentConfiguration, dryRunLock: String?) {
        var applied = loaded
        var effective: [String] = []
        var needsRestart: [String] = []

        if running.dryRun != loaded.dryRun {
            let text = "dryRun: \(running.dryRun) → \(loaded.dryRun)"
            if let dryRunLock, !loaded.dryRun {
                needsRestart.append("\(text) (\(dryRunLock))")
            } else {
                effective.append(
                    loaded.dryRun
                        ? "\(text) (nothing is written from the next cycle)" : "\(text) (writes from the next cycle)"
                )
            }
        }
        if running.clusters != loaded.clusters { effective.append("clusters") }
        if running.policyPaths != loaded.policyPaths { effective.append("policies") }
        if running.rebalances.createRetry != loaded.rebalances.createRetry {
            effective.append("rebalances.createRetry*")
        }

        // Restart-only: keep what runs, so the configuration in force says what the process really does.
        if running.listen != loaded.listen {
            needsRestart.append("listen: \(running.listen) → \(loaded.listen)")
            applied.listen = running.listen
        }
        if running.leaderElection != loaded.leaderElection {
            needsRestart.append("leaderElection")
            applied.leaderElection = running.leaderElection
        }
        if running.notifiers != loaded.notifiers {
            needsRestart.append("notifiers")
            applied.notifiers = running.notifiers
        }
        let followed = (running.rebalances.keepFinished, running.rebalances.settleTime, running.rebalances.stuckAfter)
        if followed != (loaded.rebalances.keepFinished, loaded.rebalances.settleTime, loaded.rebalances.stuckAfter) {
            needsRestart.append("rebalances.keepFinished/settleTime/stuckAfter")
            applied.rebalances.keepFinished = running.rebalances.keepFinished
            applied.rebalances.settleTime = running.rebalances.settleTime
            applied.rebalances.stuckAfter = running.rebalances.stuckAfter
        }
        if running.clusters.map(\.emqxAPI) != loaded.clusters.map(\.emqxAPI) {
            needsRestart.append("clusters[].emqxAPI")
        }
        self.applied = applied
        self.effective = effective
        self.needsRestart = needsRestart
    }
}
