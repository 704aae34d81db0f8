import AutorebalancerCore
import Foundation
import Logging
import ServiceLifecycle

/// Re-reads the configuration and policy files when they change (a ConfigMap mounted as a directory updates by
/// swapping its `..data` symlink, which changes the content seen through the paths), and when files are added to or
/// removed from a policy directory. A valid new set replaces the active one from the next cycle; settings the process
/// built its parts from at start-up are reported as needing a restart and keep running as they are
/// (``ConfigurationChange``). An invalid set is rejected with its diagnostics and the last good one stays active.
public struct ConfigurationReloader<C: Clock>: Service where C.Duration == Duration {
    public let configPath: String
    public let store: ConfigurationStore
    public let interval: Duration
    public let clock: C
    public let logger: Logger
    /// Why this process stays in dry run whatever `dryRun:` says (`AgentAssembly.dryRunLock`).
    public let dryRunLock: String?
    /// Told about every reload attempt: `true` when applied.
    public let onReload: @Sendable (Bool, [Diagnostic]) -> Void

    public init(
        configPath: String,
        store: ConfigurationStore,
        interval: Duration = .seconds(5),
        clock: C,
        logger: Logger,
        dryRunLock: String? = nil,
        onReload: @escaping @Sendable (Bool, [Diagnostic]) -> Void
    ) {
        self.configPath = configPath
        self.store = store
        self.interval = interval
        self.clock = clock
        self.logger = logger
        self.dryRunLock = dryRunLock
        self.onReload = onReload
    }

    public func run() async throws {
        let initial = ConfigurationFiles.load(configPath: configPath).fingerprints
        do {
            try await cancelWhenGracefulShutdown {
                var known = initial
                while !Task.isCancelled {
                    try await clock.sleep(until: clock.now.advanced(by: interval), tolerance: nil)
                    known = checkOnce(known: known)
                }
            }
        } catch is CancellationError {
            // Graceful shutdown (or cancellation) ends the loop; that is a normal stop, not a failure.
        }
    }

    /// One check: reloads when any file read last time changed, or the files of a policy directory did. Returns the
    /// fingerprints to compare against next time.
    public func checkOnce(known: [String: Int]) -> [String: Int] {
        let current = ConfigurationFiles.currentFingerprints(of: known.keys)
        guard current != known else { return known }
        let loaded = ConfigurationFiles.load(configPath: configPath)
        guard loaded.isValid, let configuration = loaded.configuration else {
            logger.error(
                "configuration reload rejected; the last good configuration stays active",
                metadata: [
                    "config": "\(configPath)",
                    "diagnostics":
                        "\(loaded.diagnostics.filter { $0.severity == .error }.map(\.description).joined(separator: " | "))",
                ]
            )
            onReload(false, loaded.diagnostics)
            // Remember what was seen so the same bad content is not re-reported every interval.
            return current.merging(loaded.fingerprints) { _, new in new }
        }
        let change = ConfigurationChange(
            running: store.current.configuration,
            loaded: configuration,
            dryRunLock: dryRunLock
        )
        let generation = store.replace(configuration: change.applied, policies: loaded.policies)
        var metadata: Logger.Metadata = [
            "config": "\(configPath)", "generation": "\(generation)",
            "policies": "\(loaded.policies.map(\.identifier).joined(separator: ","))",
            "dry_run": "\(dryRunLock != nil || change.applied.dryRun)",
        ]
        if !change.effective.isEmpty { metadata["changed"] = "\(change.effective.joined(separator: "; "))" }
        logger.notice("configuration reloaded; in effect from the next cycle", metadata: metadata)
        if !change.needsRestart.isEmpty {
            logger.warning(
                "configuration reloaded, but some changes take effect only after a restart; they are not applied",
                metadata: [
                    "config": "\(configPath)", "restart_needed": "\(change.needsRestart.joined(separator: "; "))",
                ]
            )
        }
        onReload(true, loaded.diagnostics)
        return loaded.fingerprints
    }
}
