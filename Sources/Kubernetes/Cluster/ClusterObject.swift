import AutorebalancerCore
import Foundation

/// The EMQX custom resource of one watched cluster, whichever kind it is.
public enum ClusterObject: Sendable, Hashable {
    /// EMQX 5 (`apps.emqx.io/v2beta1` `EMQX`).
    case emqx(EMQXResource)
    /// EMQX Enterprise 4.4 (`apps.emqx.io/v1beta4` `EmqxEnterprise`).
    case emqxEnterprise(EmqxEnterpriseResource)

    public var metadata: ObjectMeta {
        switch self {
        case .emqx(let object): object.metadata
        case .emqxEnterprise(let object): object.metadata
        }
    }

    public var kind: InstanceKind {
        switch self {
        case .emqx: .emqx
        case .emqxEnterprise: .emqxEnterprise
        }
    }

    /// The reference Events and ownerReferences point at.
    public var objectReference: ObjectReference {
        ObjectReference(
            apiVersion: kind.apiVersion, kind: kind.rawValue, name: metadata.name, namespace: metadata.namespace,
            uid: metadata.uid
        )
    }

    /// An ownerReference to this object (for the Rebalances the agent creates); `nil` without a uid.
    public var ownerReference: OwnerReference? {
        guard let uid = metadata.uid, let name = metadata.name else { return nil }
        return OwnerReference(apiVersion: kind.apiVersion, kind: kind.rawValue, name: name, uid: uid, controller: false, blockOwnerDeletion: false)
    }

    /// Reads the object of a cluster reference through the API.
    public static func fetch(_ cluster: ClusterReference, from api: any KubernetesAPI) async throws -> ClusterObject {
        switch cluster.kind {
        case .emqx:
            let object = try await api.emqx(namespace: cluster.namespace, name: cluster.name)
            return .emqx(object)
        case .emqxEnterprise:
            let object = try await api.emqxEnterprise(namespace: cluster.namespace, name: cluster.name)
            return .emqxEnterprise(object)
        }
    }
}
