import Foundation
import Testing

@testable import Simulation

/// The real-format fixtures in `../shared/fixtures/emqx` next to the package, when present.
enum EMQXFixtures {
    static let directory: URL? = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                let fixtures = url.deletingLastPathComponent().appendingPathComponent("shared/fixtures/emqx")
                return FileManager.default.fileExists(atPath: fixtures.path) ? fixtures : nil
            }
        }
        return nil
    }()

    static var available: Bool { directory != nil }

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory!.appendingPathComponent(name), encoding: .utf8)
    }

    /// `# TYPE` lines as name → type.
    static func types(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("# TYPE ") {
            let parts = line.split(separator: " ")
            if parts.count == 4 { result[String(parts[2])] = String(parts[3]) }
        }
        return result
    }
}

@Suite(.enabled(if: EMQXFixtures.available, "../shared/fixtures/emqx not found next to the package"))
struct EMQXFixtureConformanceTests {
    /// Every family the simulation serves exists in the real EMQX 5.8 output with the same type (the license family
    /// is Enterprise-only, absent from the open-source fixture).
    @Test func emqx5FamiliesMatchTheRealOnes() throws {
        let real = EMQXFixtures.types(try EMQXFixtures.text("emqx5-node-stats.prom"))
        let model = EMQXClusterModel(configuration: emqx5Configuration([100, 50]))
        let served = EMQXFixtures.types(EMQXPrometheusText.emqx5(model: model, answering: model.nodes[0], mode: .node))
        #expect(served.count > 60)
        for (name, type) in served where name != "emqx_license_expiry_at" {
            #expect(real[name] == type, "\(name) \(type) is not in the EMQX 5 fixture as such")
        }
        // The HELP convention of 5.x: TYPE then an empty HELP with a trailing space.
        let realText = try EMQXFixtures.text("emqx5-node-stats.prom")
        #expect(realText.hasPrefix("# TYPE emqx_connections_count gauge\n# HELP emqx_connections_count \n"))
    }

    @Test func emqx44FamiliesMatchTheRealOnes() throws {
        let real = EMQXFixtures.types(try EMQXFixtures.text("emqx44-node-stats.prom"))
        let model = EMQXClusterModel(configuration: .seedScenario())
        let served = EMQXFixtures.types(EMQXPrometheusText.emqx44(model: model, node: model.nodes[0]))
        #expect(served.count > 40)
        for (name, type) in served {
            #expect(real[name] == type, "\(name) \(type) is not in the EMQX 4.4 fixture as such")
        }
    }

    /// Unaggregated mode labels the same families as the real cluster fixture does.
    @Test func emqx5UnaggregatedLabelsMatch() throws {
        let realText = try EMQXFixtures.text("emqx5-cluster-unaggregated-stats.prom")
        let model = EMQXClusterModel(configuration: emqx5Configuration([100, 50]))
        let served = EMQXPrometheusText.emqx5(model: model, answering: model.nodes[0], mode: .allNodesUnaggregated)
        for family in [
            "emqx_live_connections_count", "emqx_cluster_nodes_running", "emqx_client_connected", "emqx_vm_cpu_use",
        ] {
            #expect(realText.contains("\n\(family){node=\""))
            #expect(served.contains("\n\(family){node=\""))
        }
        for family in ["emqx_cluster_sessions_count", "emqx_topics_count"] {
            #expect(realText.contains("\n\(family) "))
            #expect(served.contains("\n\(family) "))
        }
    }
}
