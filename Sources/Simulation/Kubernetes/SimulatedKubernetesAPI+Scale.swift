import AutorebalancerCore
import Foundation
import Hummingbird

/// The `emqxes/<name>/scale` subresource, as the API server serves it from the CRD's scale paths: what an
/// HorizontalPodAutoscaler (or `kubectl scale`) reads and writes. A write changes only
/// `spec.replicantTemplate.spec.replicas`; the simulated operator then starts or removes replicants.
extension SimulatedKubernetesAPI {
    func scale(
        verb: String,
        type: ResourceType,
        namespace: String,
        name: String,
        body: Data,
        contentType: String
    ) throws(KubernetesAPIError) -> Response {
        guard let version = type.emqxObjectVersion, version != .v1beta4 else { throw KubernetesAPIError.pathNotFound() }
        switch verb {
        case "get":
            guard let object = store.get(type, namespace: namespace, name: name) else {
                throw KubernetesAPIError.notFound(type, name)
            }
            return json(200, Self.scale(of: object, version: version))
        case "update", "patch":
            let document: KubernetesJSON
            do { document = try KubernetesJSON.parse(body) } catch {
                throw KubernetesAPIError.badRequest("the object provided is unrecognized (must be of type Scale)")
            }
            if verb == "patch" {
                let mediaType =
                    contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                guard
                    mediaType == "application/merge-patch+json" || mediaType == "application/strategic-merge-patch+json"
                else {
                    throw KubernetesAPIError.unsupportedMediaType(contentType)
                }
            }
            guard let replicas = document.value(atPath: "spec.replicas")?.intValue else {
                throw KubernetesAPIError.invalid(
                    type,
                    name,
                    [FieldError(field: "spec.replicas", kind: .required(detail: nil))]
                )
            }
            guard replicas >= 0, replicas <= Int64(Int32.max) else {
                throw KubernetesAPIError.invalid(
                    type,
                    name,
                    [
                        FieldError(
                            field: "spec.replicas",
                            kind: .invalid(value: "\(replicas)", detail: "must be greater than or equal to 0")
                        )
                    ]
                )
            }
            let (stored, _) = try store.update(type, namespace: namespace, name: name) {
                old throws(KubernetesAPIError) -> KubernetesJSON in
                var new = old
                var spec = new["spec"] ?? [:]
                var template = spec["replicantTemplate"] ?? [:]
                var templateSpec = template["spec"] ?? [:]
                templateSpec["replicas"] = .integer(replicas)
                template["spec"] = templateSpec
                spec["replicantTemplate"] = template
                new["spec"] = spec
                return checkedEMQXObject(new, type: type)
            }
            // Scenario calls that rewrite the spec from the binding must not undo what the HPA set.
            emqx.withLock { $0["\(namespace)/\(name)"]?.replicantReplicas = Int(replicas) }
            return json(200, Self.scale(of: stored, version: version))
        default:
            throw KubernetesAPIError.methodNotAllowed(verb)
        }
    }

    /// The `autoscaling/v1` `Scale` of an EMQX object: a status path that does not exist reads as 0, as the API
    /// server answers.
    static func scale(of object: KubernetesJSON, version: EMQXObjectVersion) -> KubernetesJSON {
        let paths = EMQXObjectSchemas.scaleStatusPath(version)
        var status: [String: KubernetesJSON] = [
            "replicas": .integer(object.value(atPath: paths.replicas)?.intValue ?? 0)
        ]
        if let path = paths.selector, let selector = object.value(atPath: path)?.stringValue {
            status["selector"] = .string(selector)
        }
        var metadata: [String: KubernetesJSON] = [:]
        for key in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
            if let value = object.value(atPath: "metadata.\(key)") { metadata[key] = value }
        }
        return [
            "apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": .object(metadata),
            "spec": ["replicas": .integer(object.value(atPath: "spec.replicantTemplate.spec.replicas")?.intValue ?? 0)],
            "status": .object(status),
        ]
    }

    /// Scenario: what an HPA does, through the same code path: sets the replicant replicas via the scale subresource.
    public func scaleReplicants(namespace: String, name: String, to replicas: Int) throws {
        let type = resourceType(for: .emqx)
        do {
            _ = try scale(
                verb: "patch",
                type: type,
                namespace: namespace,
                name: name,
                body: KubernetesJSON.object(["spec": ["replicas": .integer(Int64(replicas))]]).data(),
                contentType: "application/merge-patch+json"
            )
        } catch {
            throw SimulatedOperatorError(message: "cannot scale \(namespace)/\(name): \(error.message)")
        }
    }
}
