import Agent
import AutorebalancerCore
import Testing

/// `backtest --config` takes the Prometheus source of one cluster entry: the one `--cluster` names (or whose
/// namespace a selector entry covers), or the only named one.
struct PrometheusSourceChoiceTests {
    static func configuration(_ clusters: String) throws -> AgentConfiguration {
        let text = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: AgentConfig
            policies: [default.yaml]
            clusters:
            \(clusters)
            """
        let result = AgentConfiguration.load(text: text, file: "agent.yaml")
        return try #require(result.configuration, "\(result.diagnostics)")
    }

    static let several = """
          - namespace: emqx
            name: a
            sources: [{prometheus: {url: "http://prom-a:9090"}}]
          - namespace: emqx
            name: b
            sources: [status, {prometheus: {url: "http://prom-b:9090", nodeLabel: pod}}]
          - namespace: iot
            selector: {matchLabels: {autorebalance: "on"}}
            sources: [{prometheus: {url: "http://prom-iot:9090"}}]
          - namespace: plain
            name: c
            sources: [status]
        """

    @Test func theNamedClusterIsChosen() throws {
        let chosen = try Self.configuration(Self.several).prometheusSource(
            for: ClusterReference(namespace: "emqx", name: "b")
        )
        #expect(chosen.settings.url == "http://prom-b:9090")
        #expect(chosen.settings.nodeLabel == "pod")
        #expect(chosen.cluster == ClusterReference(namespace: "emqx", name: "b"))
    }

    @Test func aSelectorEntryCoversItsNamespace() throws {
        let chosen = try Self.configuration(Self.several).prometheusSource(
            for: ClusterReference(namespace: "iot", name: "x")
        )
        #expect(chosen.settings.url == "http://prom-iot:9090")
        #expect(chosen.cluster == nil, "a selector entry names no cluster")
    }

    @Test func theOnlyNamedClusterNeedsNoName() throws {
        let configuration = try Self.configuration(
            """
              - namespace: emqx
                name: a
                sources: [{prometheus: {url: "http://prom-a:9090"}}]
              - namespace: iot
                selector: {matchLabels: {autorebalance: "on"}}
            """
        )
        let chosen = try configuration.prometheusSource(for: nil)
        #expect(chosen.settings.url == "http://prom-a:9090")
        #expect(chosen.cluster == ClusterReference(namespace: "emqx", name: "a"))
    }

    @Test func problems() throws {
        let configuration = try Self.configuration(Self.several)
        #expect(throws: AgentConfiguration.PrometheusSourceChoiceProblem.severalClusters) {
            try configuration.prometheusSource(for: nil)
        }
        #expect(throws: AgentConfiguration.PrometheusSourceChoiceProblem.noMatchingCluster) {
            try configuration.prometheusSource(for: ClusterReference(namespace: "other", name: "a"))
        }
        let plain = ClusterReference(namespace: "plain", name: "c")
        #expect(throws: AgentConfiguration.PrometheusSourceChoiceProblem.noPrometheusSource(plain)) {
            try configuration.prometheusSource(for: plain)
        }
    }
}
