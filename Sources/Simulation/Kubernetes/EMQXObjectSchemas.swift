import AutorebalancerCore
import Foundation

/// The minimal structural schemas of the `EMQX` objects operators 2.3 (`apps.emqx.io/v2`) and 3.0
/// (`apps.emqx.io/v3beta1`) serve, for the fields the simulation writes and the agent reads. No copy of those CRDs
/// is at hand, so they are written here from the operator's Go types (emqx/emqx-operator):
/// `api/v2/emqx_types.go`, `api/v2/emqx_types_spec.go`, `api/v2/emqx_types_status.go`, `api/v3beta1/emqx_types.go`,
/// `api/v3beta1/emqx_types_spec.go`, `api/v3beta1/emqx_types_status.go`. As controller-gen does, a Go field without
/// `omitempty` is `required` (v3beta1's counts and replica numbers), `int32`/`int64` carry their format, and
/// `metav1.Condition` has its usual schema. The large parts the agent never reads (pod templates, config, service
/// templates) keep unknown fields instead of being spelled out.
enum EMQXObjectSchemas {
    /// `metav1.Condition`.
    static let condition = """
        type: object
        required: [lastTransitionTime, message, reason, status, type]
        properties:
          lastTransitionTime: {type: string, format: date-time}
          message: {type: string, maxLength: 32768}
          observedGeneration: {type: integer, format: int64, minimum: 0}
          reason: {type: string, maxLength: 1024, minLength: 1}
          status: {type: string, enum: ["True", "False", "Unknown"]}
          type: {type: string, maxLength: 316}
        """

    /// `spec`: only `image` (required) and the two templates' `spec.replicas` (`*int32`, minimum 0) are spelled out.
    static var spec: String {
        let template = """
            type: object
            x-kubernetes-preserve-unknown-fields: true
            properties:
              spec:
                type: object
                x-kubernetes-preserve-unknown-fields: true
                properties:
                  replicas: {type: integer, format: int32, minimum: 0}
            """
        return """
            type: object
            required: [image]
            x-kubernetes-preserve-unknown-fields: true
            properties:
              image: {type: string}
              coreTemplate:
            \(indent(template, by: 4))
              replicantTemplate:
            \(indent(template, by: 4))
            """
    }

    /// `EMQXStatus` of `api/v2/emqx_types_status.go` (every field `omitempty`), or with `v3beta1` the additions and
    /// required fields of `api/v3beta1/emqx_types_status.go`.
    static func status(v3beta1: Bool) -> String {
        let nodeRequired = v3beta1 ? "required: [connections, sessions]" : "required: []"
        let coreRequired = v3beta1 ? "required: [currentReplicas, readyReplicas, updatedReplicas]" : "required: []"
        let replicantRequired = v3beta1 ? "required: [currentReplicas, readyReplicas, updateReplicas]" : "required: []"
        let node = """
            type: object
            \(nodeRequired)
            properties:
              name: {type: string}
              podName: {type: string}
              status: {type: string}
              otpRelease: {type: string}
              version: {type: string}
              role: {type: string}
              sessions: {type: integer, format: int64}
              connections: {type: integer, format: int64}
            """
        var text = """
            type: object
            \(v3beta1 ? "required: [coreReplicas, replicantReplicas]" : "required: []")
            properties:
              conditions:
                type: array
                items:
            \(indent(condition, by: 6))
              coreNodes:
                type: array
                items:
            \(indent(node, by: 6))
              coreNodesStatus:
                type: object
                \(coreRequired)
                properties:
                  readyReplicas: {type: integer, format: int32}
                  updatedReplicas: {type: integer, format: int32}
                  currentReplicas: {type: integer, format: int32}
              replicantNodes:
                type: array
                items:
            \(indent(node, by: 6))
              replicantNodesStatus:
                type: object
                \(replicantRequired)
                properties:
                  readyReplicas: {type: integer, format: int32}
                  currentRevision: {type: string}
                  currentReplicas: {type: integer, format: int32}
                  updateRevision: {type: string}
                  updateReplicas: {type: integer, format: int32}
                  collisionCount: {type: integer, format: int32}
              nodeEvacuations:
                type: array
                items:
                  type: object
                  properties:
                    nodeName: {type: string}
                    state: {type: string}
                    sessionRecipients: {type: array, items: {type: string}}
                    sessionEvictionRate: {type: integer, format: int32}
                    connectionEvictionRate: {type: integer, format: int32}
                    initialSessions: {type: integer, format: int32}
                    initialConnections: {type: integer, format: int32}
              dsReplication:
                type: object
                properties:
                  dbs:
                    type: array
                    items:
                      type: object
                      required: [lostShardReplicas, maxReplicas, minReplicas, name, numShardReplicas, numShards, numTransitions]
                      properties:
                        name: {type: string}
                        numShards: {type: integer, format: int32}
                        numShardReplicas: {type: integer, format: int32}
                        lostShardReplicas: {type: integer, format: int32}
                        numTransitions: {type: integer, format: int32}
                        minReplicas: {type: integer, format: int32}
                        maxReplicas: {type: integer, format: int32}
            """
        if v3beta1 {
            text += """

                  coreReplicas: {type: integer, format: int32}
                  coreSelector: {type: string}
                  replicantReplicas: {type: integer, format: int32}
                  replicantSelector: {type: string}
                  config:
                    type: object
                    properties:
                      desiredRevision: {type: string}
                      runtimeRevision: {type: string}
                      desiredStartupRevision: {type: string}
                      activeStartupRevisions: {type: array, items: {type: string}}
                """
        }
        return text
    }

    /// The CRD document of one version.
    static func crd(version: EMQXObjectVersion) -> String {
        """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: emqxes.apps.emqx.io
        spec:
          group: apps.emqx.io
          names: {kind: EMQX, listKind: EMQXList, plural: emqxes, singular: emqx, shortNames: [emqx]}
          scope: Namespaced
          versions:
            - name: \(version.rawValue)
              served: true
              storage: true
              schema:
                openAPIV3Schema:
                  type: object
                  properties:
                    apiVersion: {type: string}
                    kind: {type: string}
                    metadata: {type: object}
                    spec:
        \(indent(spec, by: 14))
                    status:
        \(indent(status(v3beta1: version == .v3beta1), by: 14))
        """
    }

    static func indent(_ text: String, by spaces: Int) -> String {
        let pad = String(repeating: " ", count: spaces)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : pad + $0 }.joined(
            separator: "\n"
        )
    }

    static let v2: StructuralSchema = load(.v2)
    static let v3beta1: StructuralSchema = load(.v3beta1)

    private static func load(_ version: EMQXObjectVersion) -> StructuralSchema {
        do {
            return try StructuralSchema.load(crdYAML: crd(version: version), version: version.rawValue)
        } catch {
            fatalError("the built-in \(version.apiVersion) EMQX schema does not load: \(error)")
        }
    }

    /// The scale subresource's paths (`+kubebuilder:subresource:scale`): spec `.spec.replicantTemplate.spec.replicas`
    /// everywhere; status `.status.replicantReplicas` and selector `.status.replicantSelector` on v3beta1, and on
    /// v2beta1 and v2 `.status.replicantNodeReplicas`, which those statuses do not have.
    static func scaleStatusPath(_ version: EMQXObjectVersion) -> (replicas: String, selector: String?) {
        version == .v3beta1
            ? ("status.replicantReplicas", "status.replicantSelector")
            : ("status.replicantNodeReplicas", nil)
    }
}

extension SimulatedKubernetesAPI {
    /// The schema EMQX objects of `type` are checked against, if any (see `Configuration.schemas`).
    func emqxSchema(_ type: ResourceType) -> StructuralSchema? {
        guard let version = type.emqxObjectVersion else { return nil }
        if let given = configuration.schemas["\(type.plural)/\(type.version)"] { return given }
        switch version {
        case .v2: return EMQXObjectSchemas.v2
        case .v3beta1: return EMQXObjectSchemas.v3beta1
        case .v2beta1, .v1beta4: return nil
        }
    }

    /// An EMQX object as the API server would keep it: pruned of unknown fields, defaulted, and checked; a violation
    /// is recorded (`schemaViolations`) and the object kept as given, so a test sees both.
    func checkedEMQXObject(_ object: KubernetesJSON, type: ResourceType) -> KubernetesJSON {
        let type =
            type.emqxObjectVersion == nil ? type : resourceType(for: type.plural == "emqxes" ? .emqx : .emqxEnterprise)
        guard let schema = emqxSchema(type) else { return object }
        var pruned = object
        _ = schema.pruneAndDefault(&pruned)
        let errors = schema.errors(pruned)
        if errors.isEmpty { return pruned }
        let name = object.value(atPath: "metadata.name")?.stringValue ?? ""
        let message = KubernetesAPIError.invalid(type, name, errors).message
        violations.withLock { $0.append(message) }
        logger.warning("simulated API: \(message)")
        return object
    }
}
