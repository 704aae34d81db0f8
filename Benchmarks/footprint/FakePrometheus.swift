import Foundation
import Hummingbird
import NIOCore

/// A Prometheus that answers instant queries for every node of the fleet without holding any data: it reads the
/// metric name, the `namespace`/`cluster` matchers (`=` or `=~"a|b"`) and the `by (…)` labels of the query and
/// answers one series per matching node. Cheap enough not to starve the agent it serves.
struct FakePrometheus: Sendable {
    let fleet: Fleet
    static let metrics = ["emqx_live_connections_count", "emqx_connections_count", "emqx_sessions_count"]

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/api/v1/query") { request, _ -> Response in
            answer(request.uri.queryParameters.get("query") ?? "")
        }
        router.post("/api/v1/query") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            let form = String(buffer: body)
            var query = ""
            for pair in form.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.first == "query", parts.count == 2 {
                    query = String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
                }
            }
            return answer(query)
        }
        return router
    }

    func answer(_ query: String) -> Response {
        guard Self.metrics.contains(where: query.contains) else {
            return json(#"{"status":"error","errorType":"bad_data","error":"unknown metric"}"#, status: .badRequest)
        }
        let matchers = Self.matchers(in: query)
        let labels = Self.groupLabels(in: query)
        let time = String(format: "%.3f", Date().timeIntervalSince1970)
        var out = #"{"status":"success","data":{"resultType":"vector","result":["#
        var first = true
        for cluster in fleet.clusters where matches(matchers, cluster) {
            for node in cluster.nodes {
                if !first { out += "," }
                first = false
                out += #"{"metric":{"#
                out += labels.map { label -> String in
                    let value = label == "namespace" ? cluster.namespace : label == "cluster" ? cluster.name : node
                    return "\"\(label)\":\"\(value)\""
                }.joined(separator: ",")
                out += #"},"value":["# + time + #",""# + String(Fleet.connectionsPerNode) + #""]}"#
            }
        }
        out += "]}}"
        return json(out, status: .ok)
    }

    func json(_ text: String, status: HTTPResponse.Status) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }

    func matches(_ matchers: [String: Set<String>], _ cluster: Fleet.Cluster) -> Bool {
        (matchers["namespace"].map { $0.contains(cluster.namespace) } ?? true)
            && (matchers["cluster"].map { $0.contains(cluster.name) } ?? true)
    }

    /// `label="v"` and `label=~"a|b"` inside the braces, unescaped.
    static func matchers(in query: String) -> [String: Set<String>] {
        guard let open = query.firstIndex(of: "{"), let close = query[open...].firstIndex(of: "}") else { return [:] }
        var result: [String: Set<String>] = [:]
        var rest = query[query.index(after: open)..<close]
        while let quote = rest.firstIndex(of: "\"") {
            let head = rest[..<quote].trimmingCharacters(in: CharacterSet(charactersIn: " ,"))
            var value = ""
            var index = rest.index(after: quote)
            var escaped = false
            while index < rest.endIndex {
                let character = rest[index]
                if escaped {
                    value.append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    break
                } else {
                    value.append(character)
                }
                index = rest.index(after: index)
            }
            rest = index < rest.endIndex ? rest[rest.index(after: index)...] : rest[rest.endIndex...]
            if head.hasSuffix("=~") {
                let label = String(head.dropLast(2)).trimmingCharacters(in: .whitespaces)
                result[label] = Set(value.split(separator: "|").map { $0.replacingOccurrences(of: "\\", with: "") })
            } else if head.hasSuffix("=") {
                let label = String(head.dropLast()).trimmingCharacters(in: .whitespaces)
                result[label] = [value]
            }
        }
        return result
    }

    /// The labels of `by (…)`; `node` when there is none.
    static func groupLabels(in query: String) -> [String] {
        guard let by = query.range(of: "by ("), let close = query[by.upperBound...].firstIndex(of: ")") else {
            return ["node"]
        }
        return query[by.upperBound..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }
}

/// One cluster's EMQX API, answering `GET /api/v5/nodes` with every node's counts (basic auth with the API key).
struct FakeNodesAPI: Sendable {
    let cluster: Fleet.Cluster
    let authorization: String

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let body: String =
            "["
            + cluster.nodes.map { node in
                """
                {"node":"\(node)","node_status":"running","role":"core","version":"5.8.6","edition":"Enterprise","otp_release":"26.2.5",\
                "uptime":259200000,"connections":\(Fleet.connectionsPerNode),"live_connections":\(Fleet.connectionsPerNode),"cluster_sessions":0,\
                "load1":0.1,"load5":0.1,"load15":0.1,"max_fds":1048576,"memory_total":"512.00M","memory_used":"256.00M",\
                "process_available":2097152,"process_used":1000}
                """
            }.joined(separator: ",") + "]"
        let expected = authorization
        router.get("/api/v5/nodes") { request, _ -> Response in
            guard request.headers[.authorization] == expected else {
                return Response(
                    status: .unauthorized,
                    headers: [.contentType: "application/json"],
                    body: ResponseBody(
                        byteBuffer: ByteBuffer(
                            string: #"{"code":"BAD_API_KEY_OR_SECRET","message":"Check api_key/api_secret"}"#
                        )
                    )
                )
            }
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: body))
            )
        }
        return router
    }
}
