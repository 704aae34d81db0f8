import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// One parsed API path.
enum KubernetesAPIPath {
    case version
    case discovery(KubernetesJSON)
    /// A resource collection or object: namespace nil for a cluster-wide list.
    case resource(ResourceType, namespace: String?, name: String?, subresource: String?)
}

extension SimulatedKubernetesAPI {
    func respond(to request: Request, context: SimulatedAPIRequestContext) async throws -> Response {
        let latency = controls.withLock { $0.latency }
        if latency > .zero { try await Task.sleep(for: latency) }

        let path = request.uri.path
        let query = Self.queryParameters(request.uri.query)
        let parsed = parse(path: path)
        let method = request.method.rawValue
        var verb: String?
        var resourceName: String?
        if case .resource(let type, _, let name, _)? = parsed {
            resourceName = type.plural
            verb = Self.verb(
                method: method,
                hasName: name != nil,
                watch: query["watch"] == "true" || query["watch"] == "1"
            )
        }
        tally.count(verb: verb ?? method, resource: resourceName ?? "discovery")
        tally.log(LoggedRequest(method: method, path: path, verb: verb, parsed: parsed))

        var faultAfterStoring: APIFault?
        if let fault = takeFault(verb: verb, resource: resourceName) {
            if fault.storesFirst {
                faultAfterStoring = fault
            } else {
                return await answer(fault, context: context)
            }
        }

        // Authentication.
        let authorization = request.headers[.authorization] ?? ""
        let token =
            authorization.hasPrefix("Bearer ")
            ? String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces) : ""
        guard let user = controls.withLock({ $0.tokens[token] }) else {
            return answer(KubernetesAPIError.unauthorized)
        }

        do {
            switch parsed {
            case nil:
                throw KubernetesAPIError.pathNotFound()
            case .version?:
                return json(200, Self.versionInfo)
            case .discovery(let document)?:
                guard method == "GET" else { throw KubernetesAPIError.methodNotAllowed(method) }
                return json(200, document)
            case .resource(let type, let namespace, let name, let subresource)?:
                guard let verb else { throw KubernetesAPIError.methodNotAllowed(method) }
                let denied = controls.withLock { controls in
                    controls.denials.contains(Denial(verb: verb, resource: type.plural, namespace: nil))
                        || (namespace.map {
                            controls.denials.contains(Denial(verb: verb, resource: type.plural, namespace: $0))
                        } ?? false)
                }
                if denied {
                    throw KubernetesAPIError.forbidden(type, name: name, user: user, verb: verb, namespace: namespace)
                }
                let body = try await request.body.collect(upTo: 4 << 20)
                let bodyData = Data(buffer: body)
                let contentType = request.headers[.contentType] ?? "application/json"
                var response = try handle(
                    verb: verb,
                    type: type,
                    namespace: namespace,
                    name: name,
                    subresource: subresource,
                    query: query,
                    body: bodyData,
                    contentType: contentType
                )
                if let faultAfterStoring {
                    response = await answer(faultAfterStoring, context: context)
                }
                return response
            }
        } catch let error as KubernetesAPIError {
            return answer(error)
        }
    }

    static func verb(method: String, hasName: Bool, watch: Bool) -> String? {
        switch method {
        case "GET": return watch ? "watch" : (hasName ? "get" : "list")
        case "POST": return hasName ? nil : "create"
        case "PUT": return hasName ? "update" : nil
        case "PATCH": return hasName ? "patch" : nil
        case "DELETE": return hasName ? "delete" : "deletecollection"
        default: return nil
        }
    }

    // MARK: Paths

    func parse(path: String) -> KubernetesAPIPath? {
        let parts = path.split(separator: "/").map(String.init)
        // A group version switched off (an older API server) is not there at all: 404 for its discovery and paths.
        let unserved = controls.withLock { $0.unserved }
        if parts.first == "apis", parts.count >= 3, unserved.contains("\(parts[1])/\(parts[2])") { return nil }
        switch parts.count {
        case 1 where parts[0] == "version": return .version
        case 1 where parts[0] == "api": return .discovery(KubernetesDiscovery.coreVersions)
        case 1 where parts[0] == "apis": return .discovery(discovery.groupList)
        case 2 where parts[0] == "api" && parts[1] == "v1":
            return .discovery(discovery.resourceList(group: "", version: "v1"))
        case 2 where parts[0] == "apis": return discovery.group(parts[1]).map { .discovery($0) }
        case 3 where parts[0] == "apis":
            guard served.contains(where: { $0.group == parts[1] && $0.version == parts[2] }) else { return nil }
            return .discovery(discovery.resourceList(group: parts[1], version: parts[2]))
        default: break
        }
        let group: String
        let version: String
        let rest: ArraySlice<String>
        if parts.first == "api", parts.count >= 3 {
            group = ""
            version = parts[1]
            rest = parts[2...]
        } else if parts.first == "apis", parts.count >= 4 {
            group = parts[1]
            version = parts[2]
            rest = parts[3...]
        } else {
            return nil
        }
        var tail = Array(rest)
        var namespace: String?
        if tail.first == "namespaces", tail.count >= 3 {
            namespace = tail[1]
            tail = Array(tail[2...])
        }
        guard let plural = tail.first,
            let type = served.first(where: { $0.group == group && $0.version == version && $0.plural == plural })
        else { return nil }
        if namespace == nil && tail.count > 1 { return nil }  // namespaced objects need a namespace
        let name = tail.count > 1 ? tail[1] : nil
        let subresource = tail.count > 2 ? tail[2] : nil
        if tail.count > 3 { return nil }
        if let subresource, subresource != "status", !(subresource == "scale" && type.plural == "emqxes") { return nil }
        return .resource(type, namespace: namespace, name: name, subresource: subresource)
    }

    static func queryParameters(_ query: String?) -> [String: String] {
        var result: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ")
            }
            let key = parts[0].removingPercentEncoding ?? parts[0]
            let value = parts.count > 1 ? (parts[1].removingPercentEncoding ?? parts[1]) : ""
            result[key] = value
        }
        return result
    }

    // MARK: Answers

    func json(_ code: Int, _ document: KubernetesJSON, warnings: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        for warning in warnings {
            headers.append(
                HTTPField(
                    name: HTTPField.Name("Warning")!,
                    value: "299 - \"\(warning.replacingOccurrences(of: "\"", with: "\\\""))\""
                )
            )
        }
        return Response(
            status: HTTPResponse.Status(code: code),
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: document.data()))
        )
    }

    func answer(_ error: KubernetesAPIError) -> Response {
        var response = json(error.code, error.body)
        if let seconds = error.retryAfterSeconds {
            response.headers[.retryAfter] = String(seconds)
        }
        return response
    }

    static let versionInfo: KubernetesJSON = [
        "major": "1", "minor": "31", "gitVersion": "v1.31.0", "gitCommit": "simulated", "gitTreeState": "clean",
        "buildDate": "2024-08-13T07:28:49Z", "goVersion": "go1.22.5", "compiler": "gc", "platform": "linux/amd64",
    ]
}
