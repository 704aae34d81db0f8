/// KubernetesDiscovery documents for the groups the simulated API server serves (`/api`, `/api/v1`, `/apis`, `/apis/<group>`,
/// `/apis/<group>/<version>`), in the shapes `kubectl` and client-go read.
enum KubernetesDiscovery {
    static let coreVersions: KubernetesJSON = [
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"]],
    ]

    /// Group → versions, preferred first.
    static let groups: [(name: String, versions: [String])] = [
        ("apps.emqx.io", ["v2beta1", "v1beta4"]),
        ("coordination.k8s.io", ["v1"]),
        ("events.k8s.io", ["v1"]),
        ("autorebalancer.emqx.io", ["v1alpha1"]),
    ]

    static func groupDocument(_ name: String, _ versions: [String]) -> KubernetesJSON {
        let list: [KubernetesJSON] = versions.map { ["groupVersion": .string("\(name)/\($0)"), "version": .string($0)] }
        return [
            "kind": "APIGroup", "apiVersion": "v1", "name": .string(name), "versions": .array(list),
            "preferredVersion": list[0],
        ]
    }

    /// Every group with a served version; `unserved` holds `group/version`s switched off.
    static func groupList(unserved: Set<String>) -> KubernetesJSON {
        var documents: [KubernetesJSON] = []
        for group in groups {
            let versions = group.versions.filter { !unserved.contains("\(group.name)/\($0)") }
            guard !versions.isEmpty else { continue }
            var document = groupDocument(group.name, versions)
            document["kind"] = nil
            document["apiVersion"] = nil
            documents.append(document)
        }
        return ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(documents)]
    }

    static func group(_ name: String, unserved: Set<String>) -> KubernetesJSON? {
        guard let group = groups.first(where: { $0.name == name }) else { return nil }
        let versions = group.versions.filter { !unserved.contains("\(name)/\($0)") }
        return versions.isEmpty ? nil : groupDocument(name, versions)
    }

    static func resourceList(group: String, version: String) -> KubernetesJSON {
        var resources: [KubernetesJSON] = []
        for type in ResourceType.all where type.group == group && type.version == version {
            var entry: [String: KubernetesJSON] = [
                "name": .string(type.plural), "singularName": .string(type.singular), "namespaced": .bool(type.namespaced),
                "kind": .string(type.kind), "verbs": .array(type.verbs.map { .string($0) }),
            ]
            if !type.shortNames.isEmpty { entry["shortNames"] = .array(type.shortNames.map { .string($0) }) }
            resources.append(.object(entry))
            if !type.group.isEmpty && type.group != "coordination.k8s.io" {
                resources.append([
                    "name": .string("\(type.plural)/status"), "singularName": "", "namespaced": true,
                    "kind": .string(type.kind), "verbs": ["get", "patch", "update"],
                ])
            }
        }
        return [
            "kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"), "resources": .array(resources),
        ]
    }
}
