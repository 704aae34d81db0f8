/// The EMQX custom resource of one watched cluster, in the wire format of the version it was read at.
public enum ClusterObject: Sendable, Hashable {
    /// EMQX 5, `apps.emqx.io/v2beta1` `EMQX` (operator 2.2).
    case emqx(EMQXResource)
    /// EMQX 5, `apps.emqx.io/v2` `EMQX` (operator 2.3).
    case emqxV2(EMQXResourceV2)
    /// EMQX 5, `apps.emqx.io/v3beta1` `EMQX` (operator 3.0).
    case emqxV3beta1(EMQXResourceV2)
    /// EMQX Enterprise 4.4, `apps.emqx.io/v1beta4` `EmqxEnterprise`.
    case emqxEnterprise(EmqxEnterpriseResource)

    public var metadata: ObjectMeta {
        switch self {
        case .emqx(let object): object.metadata
        case .emqxV2(let object), .emqxV3beta1(let object): object.metadata
        case .emqxEnterprise(let object): object.metadata
        }
    }

    public var kind: InstanceKind {
        switch self {
        case .emqx, .emqxV2, .emqxV3beta1: .emqx
        case .emqxEnterprise: .emqxEnterprise
        }
    }

    /// The version the object was read at.
    public var version: EMQXObjectVersion {
        switch self {
        case .emqx: .v2beta1
        case .emqxV2: .v2
        case .emqxV3beta1: .v3beta1
        case .emqxEnterprise: .v1beta4
        }
    }

    /// The reference Events and ownerReferences point at (in the version the API serves the object at).
    public var objectReference: ObjectReference {
        ObjectReference(
            apiVersion: version.apiVersion,
            kind: kind.rawValue,
            name: metadata.name,
            namespace: metadata.namespace,
            uid: metadata.uid
        )
    }

    /// An ownerReference to this object (for the Rebalances the agent creates); `nil` without a uid.
    public var ownerReference: OwnerReference? {
        guard let uid = metadata.uid, let name = metadata.name else { return nil }
        return OwnerReference(
            apiVersion: version.apiVersion,
            kind: kind.rawValue,
            name: name,
            uid: uid,
            controller: false,
            blockOwnerDeletion: false
        )
    }
}
