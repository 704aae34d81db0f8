import AutorebalancerCore
import Foundation
import Testing

@testable import Agent

@Suite struct AgentConfigurationTests {
    @Test func fullConfigurationLoads() throws {
        let text = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: AgentConfig
            listen: "[::]:9191"
            dryRun: true
            leaderElection: {leaseName: my-lease, leaseDuration: 20s, renewDeadline: 15s, retryPeriod: 3s}
            policies: [../rules/default.yaml]
            clusters:
              - namespace: emqx
                name: emqx-ee
                kind: EmqxEnterprise
                policies: [default]
                sources:
                  - prometheus: {url: "http://prom:9090", selector: 'namespace="emqx"', nodeLabel: pod, bearerTokenEnv: PROM_TOKEN}
                  - emqx: {port: 8081, username: key, passwordFile: /secret}
                  - status
              - namespace: iot
                selector: {matchLabels: {autorebalance: "on"}}
            notifiers:
              alertmanager: {urls: ["http://am-0:9093", "http://am-1:9093"], resendInterval: 30s}
              webhooks: [{url: "https://hooks.example.com/x", hmacSecretEnv: HOOK_SECRET}]
            rebalances: {keepFinished: 3, settleTime: 2m, stuckAfter: 45m}
            """
        let result = AgentConfiguration.load(text: text, file: "agent.yaml")
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        let configuration = try #require(result.configuration)
        #expect(configuration.listen == ListenAddress(host: "::", port: 9191))
        #expect(configuration.dryRun)
        #expect(configuration.leaderElection.leaseName == "my-lease")
        #expect(configuration.leaderElection.renewDeadline == 15)
        #expect(configuration.clusters.count == 2)
        #expect(
            configuration.clusters[0].target
                == .named(ClusterReference(namespace: "emqx", name: "emqx-ee", kind: .emqxEnterprise))
        )
        #expect(configuration.clusters[0].sources.map(\.kind) == ["prometheus", "emqx", "status"])
        guard case .prometheus(let prometheus) = configuration.clusters[0].sources[0] else {
            Issue.record("not prometheus")
            return
        }
        #expect(prometheus.nodeLabel == "pod")
        #expect(prometheus.http.auth == .bearer(token: .environment("PROM_TOKEN")))
        guard case .emqx(let emqx) = configuration.clusters[0].sources[1] else {
            Issue.record("not emqx")
            return
        }
        #expect(emqx.port == 8081)
        #expect(emqx.http.auth == .basic(username: "key", password: .file("/secret")))
        #expect(
            configuration.clusters[1].target
                == .selector(namespace: "iot", kind: .emqx, matchLabels: ["autorebalance": "on"])
        )
        #expect(configuration.clusters[1].sources == [.status])
        #expect(configuration.notifiers.alertmanagerURLs.count == 2)
        #expect(configuration.notifiers.resendInterval == 30)
        #expect(configuration.notifiers.webhooks.first?.hmacSecret == .environment("HOOK_SECRET"))
        #expect(configuration.rebalances == RebalanceSettings(keepFinished: 3, settleTime: 120, stuckAfter: 2700))
    }

    @Test func everyProblemIsReportedWithItsPosition() {
        let text = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: AgentConfig
            listen: nope
            leaderElection: {renewDeadline: 20s}
            policies: [x.yaml]
            clusters:
              - namespace: a
                name: b
                kind: EMQx
                sourc: {}
              - name: c
              - selector: {matchLabels: {a: b}}
                source: {prometheus: {url: "ftp://x"}}
            notifiers:
              webhooks: [{url: "http://h", hmacSecretFile: a, hmacSecretEnv: b}]
            """
        let result = AgentConfiguration.load(text: text, file: "bad.yaml")
        #expect(result.configuration == nil)
        let rendered = result.diagnostics.map(\.description)
        #expect(
            rendered == [
                "bad.yaml:3:9: error: listen: \"nope\" is not HOST:PORT (e.g. 0.0.0.0:9090 or [::]:9090)",
                "bad.yaml:4:33: error: leaderElection.renewDeadline (20s) must be shorter than leaseDuration (15s)",
                "bad.yaml:9:11: error: clusters[0].kind: \"EMQx\" is not a known kind (did you mean \"EMQX\"?); expected EMQX (EMQX 5) or EmqxEnterprise (EMQX 4.4)",
                "bad.yaml:10:5: error: clusters[0]: unknown key \"sourc\" (did you mean \"source\"?)",
                "bad.yaml:11:5: error: clusters[1]: \"namespace\" is required with \"name\"",
                "bad.yaml:13:32: error: clusters[2].source.prometheus.url: \"ftp://x\" is not an http(s) URL",
                "bad.yaml:15:66: error: notifiers.webhooks[0]: give either hmacSecretFile or hmacSecretEnv, not both",
            ]
        )
    }

    /// A cluster listed twice is reported at its second entry, by its index as written, even when an entry before it
    /// is invalid (and so left out of the configuration).
    @Test func aDuplicateAfterAnInvalidEntryIsReportedWhereItIs() {
        let text = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: AgentConfig
            policies: [p.yaml]
            clusters:
              - name: no-namespace
              - {namespace: default, name: emqx}
              - {namespace: default, name: emqx}
            """
        let result = AgentConfiguration.load(text: text, file: "dup.yaml")
        #expect(result.configuration == nil)
        #expect(
            result.diagnostics.map(\.description) == [
                "dup.yaml:5:5: error: clusters[0]: \"namespace\" is required with \"name\"",
                "dup.yaml:7:5: error: clusters[2]: default/emqx is listed twice",
            ]
        )
    }

    /// Layer 1 reports the form (a value of the wrong type), layer 2 the meaning; a key that is written but
    /// unreadable is not reported again as missing.
    @Test func aWrittenButUnreadableKeyIsNotAlsoMissing() {
        let text = """
            apiVersion: [autorebalancer.emqx.io/v1alpha1]
            kind: AgentConfig
            policies: [p.yaml]
            clusters: [{namespace: default, name: emqx, emqxAPI: {port: 0, scheme: ftp}}]
            rebalances: {keepFinished: -1, stuckAfter: 0s}
            """
        let result = AgentConfiguration.load(text: text, file: "form.yaml")
        #expect(
            result.diagnostics.map(\.description) == [
                "form.yaml:1:13: error: apiVersion: expected a string, got a list",
                "form.yaml:4:54: error: clusters[0].emqxAPI: no API key: give \"apiKey\" (emqxAPIKey: NAME, or secretDirectory: PATH), or \"username\" with passwordFile/passwordEnv",
                "form.yaml:4:61: error: clusters[0].emqxAPI.port: must be at least 1, got 0",
                "form.yaml:4:72: error: clusters[0].emqxAPI.scheme: expected http or https, got \"ftp\"",
                "form.yaml:5:28: error: rebalances.keepFinished: must be at least 0, got -1",
                "form.yaml:5:44: error: rebalances.stuckAfter: must be longer than 0s",
            ]
        )
    }

    @Test func enterpriseWithOnlyTheStatusSourceWarns() throws {
        let text = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: AgentConfig
            policies: [p.yaml]
            clusters: [{namespace: default, name: emqx-ee, kind: EmqxEnterprise}]
            """
        let result = AgentConfiguration.load(text: text, file: "a.yaml")
        #expect(result.configuration != nil)
        #expect(result.diagnostics.count == 1)
        #expect(result.diagnostics.first?.severity == .warning)
        #expect(result.diagnostics.first?.message.contains("serves session rules only") == true)
    }

    @Test func filesLoadPoliciesRelativeToTheConfigAndReloadKeepsTheLastGoodSet() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "agent-config-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("rules"),
            withIntermediateDirectories: true
        )
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: Policy
            metadata: {name: p}
            spec:
              rules:
                - name: skew
                  trigger: skew
                  imbalance: {connections: {abs: 2000, rel: 1.5}}
                  rebalanceStrategy: {connEvictRate: 50}
            """
        try policy.write(to: directory.appendingPathComponent("rules/p.yaml"), atomically: true, encoding: .utf8)
        let config = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: AgentConfig
            policies: [rules]
            clusters: [{namespace: default, name: emqx, policies: [p]}]
            """
        let configPath = directory.appendingPathComponent("agent.yaml").path
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let loaded = ConfigurationFiles.load(configPath: configPath)
        #expect(loaded.isValid, "\(loaded.diagnostics)")
        #expect(loaded.policies.map(\.name) == ["p"])

        let store = ConfigurationStore(
            ActiveConfiguration(configuration: try #require(loaded.configuration), policies: loaded.policies)
        )
        let results = RecordedReloads()
        let reloader = ConfigurationReloader(
            configPath: configPath,
            store: store,
            clock: ContinuousClock(),
            logger: .init(label: "test"),
            onReload: { ok, _ in results.append(ok) }
        )
        // Unchanged files: nothing happens.
        var known = reloader.checkOnce(known: loaded.fingerprints)
        #expect(results.values.isEmpty)
        // A bad policy is rejected and the last good one stays.
        try policy.replacingOccurrences(of: "rel: 1.5", with: "rel: 0.9")
            .write(to: directory.appendingPathComponent("rules/p.yaml"), atomically: true, encoding: .utf8)
        known = reloader.checkOnce(known: known)
        #expect(results.values == [false])
        #expect(store.current.generation == 1)
        #expect(store.current.policies.first?.rules.first?.connections?.relative == 1.5)
        // The same bad content is not reported again.
        known = reloader.checkOnce(known: known)
        #expect(results.values == [false])
        // A good change is applied.
        try policy.replacingOccurrences(of: "rel: 1.5", with: "rel: 1.8")
            .write(to: directory.appendingPathComponent("rules/p.yaml"), atomically: true, encoding: .utf8)
        _ = reloader.checkOnce(known: known)
        #expect(results.values == [false, true])
        #expect(store.current.generation == 2)
        #expect(store.current.policies.first?.rules.first?.connections?.relative == 1.8)
    }

    @Test func clustersMustNameLoadedPolicies() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "agent-config-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configPath = directory.appendingPathComponent("agent.yaml").path
        try """
        apiVersion: autorebalancer.emqx.io/v1alpha1
        kind: AgentConfig
        policies: [missing.yaml]
        clusters: [{namespace: default, name: emqx, policies: [p]}]
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let loaded = ConfigurationFiles.load(configPath: configPath)
        #expect(!loaded.isValid)
        #expect(
            loaded.diagnostics.contains { $0.message.contains("missing.yaml") && $0.message.contains("does not exist") }
        )
        #expect(loaded.diagnostics.contains { $0.message.contains("no loaded policy is named \"p\"") })
    }
}

final class RecordedReloads: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Bool] = []
    func append(_ value: Bool) { lock.withLock { stored.append(value) } }
    var values: [Bool] { lock.withLock { stored } }
}
