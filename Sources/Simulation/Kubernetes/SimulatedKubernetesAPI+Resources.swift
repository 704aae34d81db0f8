import AutorebalancerCore
import Foundation
import Hummingbird

extension SimulatedKubernetesAPI {
    /// Serves one verb on one resource; throws the API server's answer on errors.
    func handle(
        verb: String,
        type: ResourceType,
        namespace: String?,
        name: String?,
        subresource: String?,
        query: [String: String],
        body: Data,
        contentType: String
    ) throws(KubernetesAPIError) -> Response {
        let readOnly = type.emqxObjectVersion != nil || type == .pods
        let statusOnly = subresource == "status"
        if subresource == "scale" {
            guard let namespace, let name else { throw KubernetesAPIError.pathNotFound() }
            return try scale(
                verb: verb,
                type: type,
                namespace: namespace,
                name: name,
                body: body,
                contentType: contentType
            )
        }
        if subresource != nil && verb != "get"
            && !(statusOnly && type.servesStatusWrites && (verb == "update" || verb == "patch"))
        {
            throw KubernetesAPIError.methodNotAllowed(verb)
        }
        switch verb {
        case "get":
            guard let namespace, let name else { throw KubernetesAPIError.pathNotFound() }
            guard var object = store.get(type, namespace: namespace, name: name) else {
                throw KubernetesAPIError.notFound(type, name)
            }
            object["apiVersion"] = .string(type.apiVersion)  // served at the version asked for
            return json(200, object)
        case "list":
            return try list(type, namespace: namespace, query: query)
        case "watch":
            return try watch(type, namespace: namespace, query: query)
        case "create" where !readOnly:
            guard let namespace else { throw KubernetesAPIError.methodNotAllowed(verb) }
            return try create(type, namespace: namespace, body: body)
        case "update" where !readOnly:
            guard let namespace, let name else { throw KubernetesAPIError.methodNotAllowed(verb) }
            let object = try decodeBody(body)
            return try replace(
                type,
                namespace: namespace,
                name: name,
                with: object,
                requireName: true,
                statusOnly: statusOnly
            )
        case "patch" where !readOnly:
            guard let namespace, let name else { throw KubernetesAPIError.methodNotAllowed(verb) }
            let patch = try decodeBody(body)
            let mediaType =
                contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let current = store.get(type, namespace: namespace, name: name) else {
                throw KubernetesAPIError.notFound(type, name)
            }
            var patched: KubernetesJSON
            switch mediaType {
            case "application/merge-patch+json":
                patched = current.mergePatched(with: patch)
            case "application/strategic-merge-patch+json" where type.group.isEmpty || type == .leases:
                // Built-in types accept strategic merge; for the fields the agent patches it acts as a merge patch.
                patched = current.mergePatched(with: patch)
            case "application/json-patch+json":
                do { patched = try current.jsonPatched(with: patch) } catch let error as KubernetesPatchError {
                    throw KubernetesAPIError(code: 422, reason: "Invalid", message: error.message)
                } catch { throw KubernetesAPIError.badRequest("\(error)") }
            default:
                throw KubernetesAPIError.unsupportedMediaType(contentType)
            }
            // A patch that does not name a resourceVersion applies to the current one.
            if patch.value(atPath: "metadata.resourceVersion") == nil, mediaType != "application/json-patch+json" {
                patched["metadata"]?["resourceVersion"] = current.value(atPath: "metadata.resourceVersion")
            }
            return try replace(
                type,
                namespace: namespace,
                name: name,
                with: patched,
                requireName: false,
                statusOnly: statusOnly
            )
        case "delete" where !readOnly:
            guard let namespace, let name else { throw KubernetesAPIError.methodNotAllowed(verb) }
            let options = body.isEmpty ? nil : try? KubernetesJSON.parse(body)
            let (object, removed) = try store.delete(
                type,
                namespace: namespace,
                name: name,
                preconditions: options?["preconditions"]
            )
            if type == .rebalances || !removed { return json(200, object) }
            var details: [String: KubernetesJSON] = [
                "name": .string(name), "kind": .string(type.plural),
                "uid": object.value(atPath: "metadata.uid") ?? .null,
            ]
            if !type.group.isEmpty { details["group"] = .string(type.group) }
            return json(
                200,
                [
                    "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success",
                    "details": .object(details),
                ]
            )
        default:
            throw KubernetesAPIError.methodNotAllowed(verb)
        }
    }

    private func decodeBody(_ body: Data) throws(KubernetesAPIError) -> KubernetesJSON {
        do { return try KubernetesJSON.parse(body) } catch {
            throw KubernetesAPIError.badRequest(
                "the object provided is unrecognized (must be of type JSON): invalid character in body"
            )
        }
    }

    private func list(
        _ type: ResourceType,
        namespace: String?,
        query: [String: String]
    ) throws(KubernetesAPIError) -> Response {
        let labelSelector: LabelSelector
        let fieldSelector: KubernetesFieldSelector?
        do {
            labelSelector = try LabelSelector(parsing: query["labelSelector"] ?? "")
            fieldSelector = try query["fieldSelector"].map { text throws(LabelSelector.SelectorError) in
                try KubernetesFieldSelector(parsing: text)
            }
        } catch {
            throw KubernetesAPIError.badRequest(error.message)
        }
        let (all, revision) = store.list(type, namespace: namespace)
        var items = all.filter { object in
            let labels = (object.value(atPath: "metadata.labels")?.objectValue ?? [:]).compactMapValues(\.stringValue)
            return labelSelector.matches(labels) && (fieldSelector?.matches(object) ?? true)
        }
        var listMetadata: [String: KubernetesJSON] = ["resourceVersion": .string(String(revision))]
        if let token = query["continue"], !token.isEmpty {
            guard let data = Data(base64Encoded: token), let after = String(data: data, encoding: .utf8) else {
                throw KubernetesAPIError.badRequest("continue key is not valid: illegal base64 data")
            }
            items = items.filter { Self.listKey($0) > after }
        }
        if let limitText = query["limit"], let limit = Int(limitText), limit > 0, items.count > limit {
            let remaining = items.count - limit
            items = Array(items.prefix(limit))
            listMetadata["continue"] = .string(Data(Self.listKey(items[limit - 1]).utf8).base64EncodedString())
            listMetadata["remainingItemCount"] = .integer(Int64(remaining))
        }
        return json(
            200,
            [
                "apiVersion": .string(type.apiVersion), "kind": .string("\(type.kind)List"),
                "metadata": .object(listMetadata), "items": .array(items),
            ]
        )
    }

    private static func listKey(_ object: KubernetesJSON) -> String {
        "\(object.value(atPath: "metadata.namespace")?.stringValue ?? "")/\(object.value(atPath: "metadata.name")?.stringValue ?? "")"
    }

    private func create(_ type: ResourceType, namespace: String, body: Data) throws(KubernetesAPIError) -> Response {
        var object = try decodeBody(body)
        guard object.objectValue != nil else {
            throw KubernetesAPIError.badRequest("the object provided is unrecognized (must be of type \(type.kind))")
        }
        if let kind = object["kind"]?.stringValue, kind != type.kind {
            throw KubernetesAPIError.badRequest(
                "the API version in the data (\(object["apiVersion"]?.stringValue ?? "")) does not match the expected API version (\(type.apiVersion))"
            )
        }
        object["apiVersion"] = .string(type.apiVersion)
        object["kind"] = .string(type.kind)
        if let bodyNamespace = object.value(atPath: "metadata.namespace")?.stringValue, !bodyNamespace.isEmpty,
            bodyNamespace != namespace
        {
            throw KubernetesAPIError.badRequest(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        }
        var name = object.value(atPath: "metadata.name")?.stringValue ?? ""
        if name.isEmpty, let prefix = object.value(atPath: "metadata.generateName")?.stringValue, !prefix.isEmpty {
            let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
            name = prefix + String((0..<5).map { _ in alphabet.randomElement()! })
            object["metadata"]?["name"] = .string(name)
        }
        var metadataErrors: [FieldError] = []
        if name.isEmpty {
            metadataErrors.append(
                FieldError(field: "metadata.name", kind: .required(detail: "name or generateName is required"))
            )
        } else if let problem = Self.dnsSubdomainProblem(name) {
            metadataErrors.append(
                FieldError(field: "metadata.name", kind: .invalid(value: "\"\(name)\"", detail: problem))
            )
        }
        if type == .eventsV1 { metadataErrors += Self.eventV1Problems(object, creating: true) }
        if !metadataErrors.isEmpty { throw KubernetesAPIError.invalid(type, name, metadataErrors) }
        var warnings: [String] = []
        if type == .rebalances {
            object["status"] = nil  // the status subresource: status is not writable on create
            let admitted = try RebalanceAdmission.admitCreate(object, name: name)
            object = admitted.object
            warnings = admitted.warnings
        } else if let schema = Self.schema(of: type) {
            object["status"] = nil  // the status subresource: status is not writable on create
            warnings = schema.pruneAndDefault(&object)
            let errors = schema.errors(object)
            if !errors.isEmpty { throw KubernetesAPIError.invalid(type, name, errors) }
        }
        if var metadata = object["metadata"]?.objectValue {
            for field in ["resourceVersion", "uid", "creationTimestamp", "deletionTimestamp", "generation"] {
                metadata.removeValue(forKey: field)
            }
            object["metadata"] = .object(metadata)
        }
        let stored = try store.create(type, namespace: namespace, object: object)
        return json(201, stored, warnings: warnings)
    }

    /// PUT, and the last step of PATCH: optimistic concurrency on `metadata.resourceVersion`, admission, status kept.
    /// With `statusOnly` (a write to `…/status`), only the status is taken from `object`; otherwise the status is kept.
    private func replace(
        _ type: ResourceType,
        namespace: String,
        name: String,
        with object: KubernetesJSON,
        requireName: Bool,
        statusOnly: Bool = false
    ) throws(KubernetesAPIError) -> Response {
        var object = object
        guard object.objectValue != nil else {
            throw KubernetesAPIError.badRequest("the object provided is unrecognized (must be of type \(type.kind))")
        }
        let bodyName = object.value(atPath: "metadata.name")?.stringValue
        if requireName, bodyName != name {
            throw KubernetesAPIError.badRequest(
                "the name of the object (\(bodyName ?? "")) does not match the name on the URL (\(name))"
            )
        }
        if let bodyNamespace = object.value(atPath: "metadata.namespace")?.stringValue, !bodyNamespace.isEmpty,
            bodyNamespace != namespace
        {
            throw KubernetesAPIError.badRequest(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        }
        object["apiVersion"] = .string(type.apiVersion)
        object["kind"] = .string(type.kind)
        var warnings: [String] = []
        let (stored, _) = try store.update(type, namespace: namespace, name: name) {
            old throws(KubernetesAPIError) -> KubernetesJSON in
            if let expected = object.value(atPath: "metadata.resourceVersion")?.stringValue, !expected.isEmpty,
                expected != old.value(atPath: "metadata.resourceVersion")?.stringValue
            {
                throw KubernetesAPIError.conflict(type, name)
            }
            var new = object
            if type == .eventsV1 {
                let problems = Self.eventV1Problems(new, creating: false)
                if !problems.isEmpty { throw KubernetesAPIError.invalid(type, name, problems) }
            }
            if type == .rebalances {
                new["status"] = old["status"]  // status is written through the status subresource only
                let admitted = try RebalanceAdmission.admitUpdate(new, old: old, name: name)
                new = admitted.object
                warnings = admitted.warnings
            } else if let schema = Self.schema(of: type) {
                if statusOnly {
                    let status = new["status"]
                    new = old
                    new["status"] = status
                } else {
                    new["status"] = old["status"]
                }
                warnings = schema.pruneAndDefault(&new)
                let errors = schema.errors(new, old: old)
                if !errors.isEmpty { throw KubernetesAPIError.invalid(type, name, errors) }
            }
            // Keep the stored resourceVersion for the comparison "changed or not"; the store bumps it on change.
            new["metadata"]?["resourceVersion"] = old.value(atPath: "metadata.resourceVersion")
            return new
        }
        return json(200, stored, warnings: warnings)
    }

    /// The API server's validation of an `events.k8s.io/v1` Event (pkg/apis/core/validation/events.go): required
    /// fields on create, length limits, a series of at least two with its last observation time.
    static func eventV1Problems(_ event: KubernetesJSON, creating: Bool) -> [FieldError] {
        var problems: [FieldError] = []
        func text(_ field: String) -> String? { event.value(atPath: field)?.stringValue }
        if creating {
            for field in ["eventTime", "reportingController", "reportingInstance", "action", "reason"]
            where (text(field) ?? "").isEmpty {
                problems.append(FieldError(field: field, kind: .required(detail: nil)))
            }
        }
        for (field, limit) in [("reportingInstance", 128), ("action", 128), ("reason", 128), ("note", 1024)] {
            if let value = text(field), value.utf8.count > limit {
                problems.append(
                    FieldError(
                        field: field,
                        kind: .invalid(
                            value: "\"\(value.prefix(40))…\"",
                            detail: "can have at most \(limit) characters"
                        )
                    )
                )
            }
        }
        if let time = text("eventTime"), KubernetesTime.parse(time) == nil {
            problems.append(
                FieldError(field: "eventTime", kind: .invalid(value: "\"\(time)\"", detail: "must be a MicroTime"))
            )
        }
        if let series = event["series"], !series.isNull {
            let count = series["count"]?.intValue ?? 0
            if count < 2 {
                problems.append(
                    FieldError(field: "series.count", kind: .invalid(value: "\(count)", detail: "should be at least 2"))
                )
            }
            if KubernetesTime.parse(series["lastObservedTime"]?.stringValue) == nil {
                problems.append(FieldError(field: "series.lastObservedTime", kind: .required(detail: nil)))
            }
        }
        return problems
    }

    /// The structural schema custom resources of `type` are admitted against (the agent's own CRD), if any.
    static func schema(of type: ResourceType) -> StructuralSchema? {
        type == .emqxRebalances ? emqxRebalanceSchema : nil
    }

    /// Loaded from the very CRD text shipped in deploy/crds (tests keep the two equal).
    static let emqxRebalanceSchema: StructuralSchema = {
        do {
            return try StructuralSchema.load(crdYAML: EMQXRebalanceDefinition.yaml, version: EMQXRebalance.version)
        } catch {
            fatalError("the EMQXRebalance CRD shipped with the agent does not load: \(error)")
        }
    }()

    /// `nil` when `name` is a valid DNS-1123 subdomain, else the API server's explanation.
    static func dnsSubdomainProblem(_ name: String) -> String? {
        let allowed = name.allSatisfy {
            ($0.isLowercase && $0.isASCII) || ($0.isNumber && $0.isASCII) || $0 == "-" || $0 == "."
        }
        let edges =
            name.first.map { $0.isASCII && ($0.isLowercase || $0.isNumber) } == true
            && name.last.map { $0.isASCII && ($0.isLowercase || $0.isNumber) } == true
        if name.count > 253 { return "must be no more than 253 characters" }
        if allowed && edges { return nil }
        return
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    }
}
