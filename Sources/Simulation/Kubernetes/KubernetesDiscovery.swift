import AutorebalancerCore

/// KubernetesDiscovery documents for the groups the simulated API server serves (`/api`, `/api/v1`, `/apis`,
/// `/apis/<group>`, `/apis/<group>/<version>`), in the shapes `kubectl` and client-go read, computed from the
/// resources the configured operator generation serves.
struct KubernetesDiscovery {
    let served: [ResourceType]

    static let coreVersions: KubernetesJSON = [
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"]],
    ]

    /// Versions preferred first: the newest EMQX versions, then the rest as served.
    static let versionPreference = ["v3beta1", "v2", "v2beta1", "v1beta4", "v1alpha1", "v1"]

    /// Group → versions, preferred first.
    var groups: [(name: String, versions: [String])] {
        var names: [String] = []
        for type in served where !type.group.isEmpty && !names.contains(type.group) { names.append(type.group) }
        return names.map { name in
            let versions = Set(served.filter { $0.group == name }.map(\.version))
            return (
                name,
                versions.sorted {
                    (Self.versionPreference.firstIndex(of: $0) ?? 99, $0) < (
                        Self.versionPreference.firstIndex(of: $1) ?? 99, $1
                    )
                }
            )
        }
    }

    static func groupDocument(_ name: String, _ versions: [String]) -> KubernetesJSON {
        let list: [KubernetesJSON] = versions.map {
            ["groupVersion": .string("\(name)/\($0)"), "version": .string($0)]
        }
        return [
            "kind": "APIGroup", "apiVersion": "v1", "name": .string(name), "versions": .array(list),
            "preferredVersion": list[0],
        ]
    }

    var groupList: KubernetesJSON {
        var documents: [KubernetesJSON] = []
        for group in groups {
            var document = Self.groupDocument(group.name, group.versions)
            document["kind"] = nil
            document["apiVersion"] = nil
            documents.append(document)
        }
        return ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(documents)]
    }

    func group(_ name: String) -> KubernetesJSON? {
        groups.first { $0.name == name }.map { Self.groupDocument($0.name, $0.versions) }
    }

    func resourceList(group: String, version: String) -> KubernetesJSON {
        var resources: [KubernetesJSON] = []
        for type in served where type.group == group && type.version == version {
            var entry: [String: KubernetesJSON] = [
                "name": .string(type.plural), "singularName": .string(type.singular),
                "namespaced": .bool(type.namespaced),
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
            if type.plural == "emqxes" {
                resources.append([
                    "name": .string("\(type.plural)/scale"), "singularName": "", "namespaced": true,
                    "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"],
                ])
            }
        }
        return [
            "kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"), "resources": .array(resources),
        ]
    }
}
