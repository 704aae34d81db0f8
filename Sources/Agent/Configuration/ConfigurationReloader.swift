import AutorebalancerCore
import Foundation
import Logging
import ServiceLifecycle

/// Re-reads the configuration and policy files when they change (a ConfigMap mounted as a directory updates by
/// swapping a symlink, which changes the content seen through the path). A valid new set replaces the active one; an
/// invalid one is rejected with its diagnostics and the last good configuration stays active.
public struct ConfigurationReloader<C: Clock>: Service where C.Duration == Duration {
    public let configPath: String
    public let store: ConfigurationStore
    public let interval: Duration
    public let clock: C
    public let logger: Logger
    /// Told about every reload attempt: `true` when applied.
    public let onReload: @Sendable (Bool, [Diagnostic]) -> Void

    public init(
        configPath: String,
        store: ConfigurationStore,
        interval: Duration = .seconds(5),
        clock: C,
        logger: Logger,
        onReload: @escaping @Sendable (Bool, [Diagnostic]) -> Void
    ) {
        self.configPath = configPath
        self.store = store
        self.interval = interval
        self.clock = clock
        self.logger = logger
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

    /// One check: reloads when any file read last time (or the set of files) changed. Returns the fingerprints to
    /// compare against next time.
    public func checkOnce(known: [String: Int]) -> [String: Int] {
        let current = ConfigurationFiles.currentFingerprints(of: known.keys)
        guard current != known else { return known }
        let loaded = ConfigurationFiles.load(configPath: configPath)
        guard loaded.isValid, let configuration = loaded.configuration else {
            logger.error(
                "configuration reload rejected; the last good configuration stays active",
                metadata: ["config": "\(configPath)", "diagnostics": "\(loaded.diagnostics.filter { $0.severity == .error }.map(\.description).joined(separator: " | "))"])
            onReload(false, loaded.diagnostics)
            // Remember what was seen so the same bad content is not re-reported every interval.
            return current.merging(loaded.fingerprints) { _, new in new }
        }
        let generation = store.replace(configuration: configuration, policies: loaded.policies)
        logger.info("configuration reloaded", metadata: [
            "config": "\(configPath)", "generation": "\(generation)",
            "policies": "\(loaded.policies.map(\.identifier).joined(separator: ","))",
        ])
        onReload(true, loaded.diagnostics)
        return loaded.fingerprints
    }
}
