import AutorebalancerCore
import Foundation
import InMemoryLogging
import Logging
import TestSupport
import Testing

@testable import Agent

/// Reloads through files on disk laid out as ConfigMap mounts (`..data` symlink swaps), then cycles of the loop: the
/// brakes take effect on the next cycle, new policy files are picked up, removed rules leave /metrics.
@Suite(.timeLimit(.minutes(2))) struct ReloadBrakesTests {
    typealias H = LoopHarness

    /// The agent config in one mount, the policies in another, both under a fresh temporary directory.
    struct Mounts {
        let root: URL
        var config: ConfigMapMount
        var policies: ConfigMapMount
        var configPath: String { config.path("agent.yaml") }

        init(policies: [String: String], dryRun: Bool = false) throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("reload-\(UUID().uuidString)")
            self.policies = try ConfigMapMount(at: root.appendingPathComponent("policies"), files: policies)
            config = try ConfigMapMount(
                at: root.appendingPathComponent("config"),
                files: ["agent.yaml": Self.agentConfig(root: root, dryRun: dryRun)]
            )
        }

        static func agentConfig(root: URL, dryRun: Bool, listen: String = "0.0.0.0:9090") -> String {
            """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: AgentConfig
            listen: \(listen)
            dryRun: \(dryRun)
            leaderElection: {enabled: false}
            policies: [\(root.appendingPathComponent("policies").path)]
            clusters:
              - {namespace: default, name: emqx-ee}
            """
        }

        mutating func setAgentConfig(dryRun: Bool, listen: String = "0.0.0.0:9090") throws {
            try config.update(["agent.yaml": Self.agentConfig(root: root, dryRun: dryRun, listen: listen)])
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    static func harness(
        _ mounts: Mounts
    ) throws -> (H, ConfigurationReloader<ManualClock>, InMemoryLogHandler, [String: Int]) {
        let loaded = ConfigurationFiles.load(configPath: mounts.configPath)
        guard loaded.isValid, let configuration = loaded.configuration else {
            throw ConfigurationError("\(loaded.diagnostics)")
        }
        let store = ConfigurationStore(ActiveConfiguration(configuration: configuration, policies: loaded.policies))
        let h = try H(policies: [], store: store)
        let logs = InMemoryLogHandler()
        let reloader = ConfigurationReloader(
            configPath: mounts.configPath,
            store: store,
            clock: h.clock,
            logger: Logger(label: "test-reload") { _ in logs },
            onReload: { _, _ in }
        )
        return (h, reloader, logs, loaded.fingerprints)
    }

    /// `dryRun: true` by reload: the very next cycle writes nothing although the rule fires; `false` again: the
    /// next cycle creates the Rebalance. A changed `listen` is reported as needing a restart, not applied.
    @Test func dryRunFlippedByAReloadBrakesWithinOneCycle() async throws {
        var mounts = try Mounts(policies: ["p.yaml": H.policy()])
        defer { mounts.remove() }
        let (h, reloader, logs, fingerprints) = try Self.harness(mounts)
        var known = fingerprints
        let pending = await h.tick().clusters[0]
        #expect(pending.evaluation("skew")?.state == .pending)

        try mounts.setAgentConfig(dryRun: true, listen: "0.0.0.0:9191")
        known = reloader.checkOnce(known: known)
        h.clock.advance(by: .seconds(15))
        let braked = await h.tick()
        #expect(braked.dryRun)
        #expect(braked.clusters[0].evaluation("skew")?.state == .firing)
        #expect(braked.clusters[0].evaluation("skew")?.whyNot?.reason == .dryRun)
        #expect(h.createAttempts.isEmpty)
        #expect(h.metrics.render().contains("emqx_autorebalancer_dry_run 1"))
        let messages = logs.entries.map { "\($0.message) \($0.metadata)" }
        #expect(
            messages.contains { $0.contains("in effect from the next cycle") && $0.contains("dryRun: false → true") }
        )
        #expect(
            messages.contains {
                $0.contains("only after a restart") && $0.contains("listen: 0.0.0.0:9090 → 0.0.0.0:9191")
            }
        )
        #expect(h.store.current.configuration.listen.port == 9090, "the running listen address stays in force")

        try mounts.setAgentConfig(dryRun: false, listen: "0.0.0.0:9191")
        _ = reloader.checkOnce(known: known)
        h.clock.advance(by: .seconds(15))
        let acting = await h.tick()
        #expect(!acting.dryRun)
        #expect(acting.clusters[0].evaluation("skew")?.state == .acted)
        #expect(h.api.storedRebalances.count == 1)
        #expect(h.metrics.render().contains("emqx_autorebalancer_dry_run 0"))
    }

    /// A policy file added to the watched directory by a ConfigMap update is loaded and evaluated on the next cycle;
    /// removed again, its rules' series leave /metrics.
    @Test func aPolicyFileDroppedIntoTheWatchedDirectoryIsLoaded() async throws {
        var mounts = try Mounts(policies: ["p.yaml": H.policy()])
        defer { mounts.remove() }
        let (h, reloader, _, fingerprints) = try Self.harness(mounts)
        var known = fingerprints
        _ = await h.tick()
        #expect(h.store.current.policies.map(\.name) == ["p"])

        try mounts.policies.update(["p.yaml": H.policy(), "q.yaml": H.policy(name: "q", rule: "watch")])
        known = reloader.checkOnce(known: known)
        #expect(h.store.current.policies.map(\.name) == ["p", "q"])
        h.clock.advance(by: .seconds(15))
        let both = await h.tick().clusters[0]
        #expect(both.policies.map(\.policy) == ["p", "q"])
        #expect(
            h.metrics.render().contains(
                #"emqx_autorebalancer_rule_state{cluster="default/emqx-ee",rule="watch",state="#
            )
        )

        try mounts.policies.update(["p.yaml": H.policy()])
        _ = reloader.checkOnce(known: known)
        #expect(h.store.current.policies.map(\.name) == ["p"])
        h.clock.advance(by: .seconds(15))
        _ = await h.tick()
        let text = h.metrics.render()
        #expect(!text.contains(#"rule="watch""#), "the removed rule's series are gone:\n\(text)")
        #expect(text.contains(#"emqx_autorebalancer_rule_state{cluster="default/emqx-ee",rule="skew",state="#))
    }

    /// The report of a reload, pure: what applies next cycle and what needs a restart.
    @Test func aReloadSaysWhatNeedsARestart() {
        var loaded = AgentConfiguration(dryRun: false)
        loaded.leaderElection.leaseName = "other"
        loaded.rebalances.settleTime = 5
        loaded.rebalances.createRetry = CreateRetryPolicy(initialBackoff: 5)
        let running = AgentConfiguration(dryRun: true)
        let change = ConfigurationChange(running: running, loaded: loaded, dryRunLock: nil)
        #expect(change.effective == ["dryRun: true → false (writes from the next cycle)", "rebalances.createRetry*"])
        #expect(change.needsRestart == ["leaderElection", "rebalances.keepFinished/settleTime/stuckAfter"])
        #expect(change.applied.leaderElection == running.leaderElection)
        #expect(change.applied.rebalances.settleTime == running.rebalances.settleTime)
        #expect(change.applied.rebalances.createRetry.initialBackoff == 5)
        #expect(!change.applied.dryRun)
        // Locked in dry run (started so with leader election on): leaving it needs a restart.
        let locked = ConfigurationChange(
            running: running,
            loaded: AgentConfiguration(dryRun: false),
            dryRunLock: "started in dry run"
        )
        #expect(locked.needsRestart == ["dryRun: true → false (started in dry run)"])
        #expect(locked.effective.isEmpty)
    }
}
