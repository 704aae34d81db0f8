import AutorebalancerCore
import Foundation
import Testing
import Yams

@testable import Agent

/// deploy/overlays/operator-3.0 holds together: the `EMQXAPIKey` example is one the agent can use, the Deployment
/// mounts the Secret it writes where the agent config reads the key, and the config acts through EMQX's API.
@Suite struct OperatorOverlayTests {
    static let overlay: URL? = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            let folder = url.appendingPathComponent("deploy/overlays/operator-3.0")
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("kustomization.yaml").path) {
                return folder
            }
            url = url.deletingLastPathComponent()
        }
        return nil
    }()

    static func text(_ name: String) throws -> String {
        try String(contentsOf: try #require(overlay).appendingPathComponent(name), encoding: .utf8)
    }

    @Test(.enabled(if: Self.overlay != nil, "deploy/overlays/operator-3.0 not found"))
    func theKeyTheOperatorIssuesIsTheOneTheAgentReads() throws {
        var key = try YAMLDecoder().decode(EMQXAPIKey.self, from: try Self.text("emqxapikey.yaml"))
        #expect(key.spec.role == "Administrator")
        key.status = .init(conditions: [StatusCondition(type: "Ready", status: "True")])
        #expect(key.unusableReason == nil, "once the operator has issued it")
        let secretName = try #require(key.spec.secretRef?.name)

        struct Mount: Decodable {
            struct Spec: Decodable { var template: Template }
            struct Template: Decodable { var spec: PodSpec }
            struct PodSpec: Decodable {
                var containers: [Container]
                var volumes: [Volume]
            }
            struct Container: Decodable {
                var name: String
                var volumeMounts: [VolumeMount]
            }
            struct VolumeMount: Decodable {
                var name: String
                var mountPath: String
            }
            struct Volume: Decodable {
                var name: String
                var secret: SecretVolume?
            }
            struct SecretVolume: Decodable { var secretName: String }
            var spec: Spec
        }
        let pod = try YAMLDecoder().decode(Mount.self, from: try Self.text("api-key-mount.yaml")).spec.template.spec
        let volume = try #require(
            pod.volumes.first { $0.secret?.secretName == secretName },
            "the Deployment mounts the key's Secret"
        )
        let mount = try #require(
            pod.containers.first { $0.name == "agent" }?.volumeMounts.first { $0.name == volume.name }
        )

        let loaded = AgentConfiguration.load(text: try Self.text("config/agent.yaml"), file: "agent.yaml")
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        let cluster = try #require(loaded.configuration?.clusters.first)
        #expect(cluster.emqxAPI?.apiKey == .secretDirectory(mount.mountPath))
        #expect(cluster.actuator == .auto)
        #expect(loaded.configuration?.dryRun == true, "a first apply never acts")
        // On Operator 3.0 that means acting through EMQX's API.
        let served = OperatorAPIs(resources: ["v3beta1": ["emqxes", "emqxapikeys"]])
        let plan = ClusterPlan.make(
            for: ClusterReference(namespace: "emqx", name: key.spec.emqxRef?.name ?? ""),
            served: served,
            direct: .available,
            actuator: cluster.actuator
        )
        #expect(plan.acting == .emqxAPI)
        guard case .named(let reference) = cluster.target else {
            Issue.record("not a named cluster")
            return
        }
        #expect(reference.name == key.spec.emqxRef?.name)
    }
}
