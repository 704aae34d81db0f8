import AutorebalancerCore
import Foundation

/// One HTTP request as a simulated node sees it, independent of the server library.
public struct EMQXHTTPRequest: Sendable, Hashable {
    public var method: String
    /// The path, percent-encoded as received.
    public var path: String
    public var query: [String: String]
    public var authorization: String?
    public var body: String

    public init(
        method: String,
        path: String,
        query: [String: String] = [:],
        authorization: String? = nil,
        body: String = ""
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.authorization = authorization
        self.body = body
    }
}

/// A simulated node's answer.
public struct EMQXHTTPResponse: Sendable, Hashable {
    public var status: Int
    public var contentType: String
    public var body: String
    public var headers: [String: String]

    public init(status: Int, contentType: String = "application/json", body: String, headers: [String: String] = [:]) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    static func json(_ status: Int, _ value: JSONValue) -> EMQXHTTPResponse {
        EMQXHTTPResponse(status: status, body: value.rendered)
    }

    /// EMQX 5's `?ERROR_MSG(Code, Message)`.
    static func error(_ status: Int, _ code: String, _ message: String) -> EMQXHTTPResponse {
        json(status, .object([("code", .string(code)), ("message", .string(message))]))
    }
}

/// EMQX's management API on one node, as a function of the cluster state: routes, auth, request validation and the
/// exact answer shapes of EMQX 5 (`/api/v5`) and EMQX 4.4 (`/api/v4`). Calls that change state (load_rebalance start
/// and stop) mutate the model.
public enum EMQXHTTPAPI {
    /// Answers `request` as the node `name` would, given (and, for load_rebalance calls, changing) the cluster state.
    public static func handle(
        _ request: EMQXHTTPRequest,
        node name: String,
        model: inout EMQXClusterModel
    ) -> EMQXHTTPResponse {
        guard let node = model.node(named: name) else {
            return .error(503, "SERVICE_UNAVAILABLE", "node \(name) left the cluster")
        }
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map {
            String($0).removingPercentEncoding ?? String($0)
        }
        let isV5 = model.configuration.kind == .emqx
        guard segments.count >= 2, segments[0] == "api", segments[1] == (isV5 ? "v5" : "v4") else {
            return notFound(isV5: isV5)
        }
        let route = Array(segments.dropFirst(2))
        let authorized = isAuthorized(request.authorization, credentials: model.configuration.credentials)
        func requireAuth() -> EMQXHTTPResponse? {
            guard !authorized else { return nil }
            return isV5
                ? .error(401, "BAD_API_KEY_OR_SECRET", "Check api_key/api_secret")
                : EMQXHTTPResponse(
                    status: 401,
                    body: "",
                    headers: ["WWW-Authenticate": "Basic Realm=\"minirest-server\""]
                )
        }
        /// EMQX 6's API-key scopes: `load_rebalance` and `/api/v5/nodes` need `cluster_operations`.
        func requireClusterOperations() -> EMQXHTTPResponse? {
            if let denied = requireAuth() { return denied }
            guard isV5, let scopes = model.configuration.credentials.scopes,
                !scopes.contains(EMQXAPICredentials.clusterOperations)
            else { return nil }
            return .error(403, "FORBIDDEN", "the API key has no \(EMQXAPICredentials.clusterOperations) scope")
        }

        let method = request.method
        if method == "GET", route == ["prometheus", "stats"], isV5 {
            if model.configuration.statsRequireAuth, let denied = requireAuth() { return denied }
            let modeText = request.query["mode"] ?? "node"
            guard let mode = EMQXStatsMode(rawValue: modeText) else {
                return .error(
                    400,
                    "BAD_REQUEST",
                    "mode: unknown value \(modeText); expected node, all_nodes_aggregated or all_nodes_unaggregated"
                )
            }
            return EMQXHTTPResponse(
                status: 200,
                contentType: "text/plain",
                body: EMQXPrometheusText.emqx5(model: model, answering: node, mode: mode)
            )
        }
        if method == "GET", route == ["emqx_prometheus"], !isV5 {
            if request.query["type"] == "prometheus" {
                return EMQXHTTPResponse(
                    status: 200,
                    contentType: "text/plain",
                    body: EMQXPrometheusText.emqx44(model: model, node: node)
                )
            }
            return EMQXHTTPResponse(status: 200, body: EMQXPrometheusText.emqx44JSON(model: model, node: node))
        }
        if method == "GET", route == ["nodes"] {
            if let denied = requireClusterOperations() { return denied }
            return isV5
                ? .json(200, .array(nodesV5(model)))
                : .json(200, .object([("code", .int(0)), ("data", .array(nodesV4(model)))]))
        }
        if method == "GET", route == ["load_rebalance", "availability_check"] {
            if node.isAvailable { return .json(200, .object([])) }
            return isV5 ? .error(503, "NODE_EVACUATING", "Node Evacuating") : .json(503, .object([]))
        }
        if method == "GET", route == ["load_rebalance", "status"] {
            if let denied = requireAuth() { return denied }
            return .json(200, localStatus(model: model, node: node, isV5: isV5))
        }
        if method == "GET", route == ["load_rebalance", "global_status"] {
            if let denied = requireClusterOperations() { return denied }
            return .json(200, globalStatus(model: model, isV5: isV5))
        }
        if method == "POST", route.count >= 3, route[0] == "load_rebalance" {
            let target = route[1]
            let action = route.dropFirst(2).joined(separator: "/")
            guard ["start", "stop", "evacuation/start", "evacuation/stop"].contains(action) else {
                return notFound(isV5: isV5)
            }
            if let denied = requireClusterOperations() { return denied }
            switch action {
            case "start":
                return perform(isV5: isV5) { () throws(RebalanceRequestError) in
                    try model.startRebalance(
                        coordinator: target,
                        options: try rebalanceOptions(request.body, isV5: isV5)
                    )
                }
            case "stop":
                return perform(isV5: isV5) { () throws(RebalanceRequestError) in
                    try model.stopRebalance(coordinator: target)
                }
            case "evacuation/start":
                return perform(isV5: isV5) { () throws(RebalanceRequestError) in
                    try model.startEvacuation(node: target, options: try evacuationOptions(request.body, isV5: isV5))
                }
            default:
                return perform(isV5: isV5) { () throws(RebalanceRequestError) in try model.stopEvacuation(node: target)
                }
            }
        }
        return notFound(isV5: isV5)
    }

    static func notFound(isV5: Bool) -> EMQXHTTPResponse {
        isV5 ? .error(404, "NOT_FOUND", "Request Path Not Found") : EMQXHTTPResponse(status: 404, body: "")
    }

    static func isAuthorized(_ header: String?, credentials: EMQXAPICredentials) -> Bool {
        guard let header, header.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8)
        else { return false }
        return text == "\(credentials.key):\(credentials.secret)"
    }

    /// Runs a load_rebalance call and answers as EMQX does: 5.x with HTTP status codes, 4.4 (minirest) always with
    /// HTTP 200 and `{"code":400,"message":...}` on error.
    static func perform(isV5: Bool, _ body: () throws(RebalanceRequestError) -> Void) -> EMQXHTTPResponse {
        do {
            try body()
            return isV5 ? .json(200, .object([])) : .json(200, .object([("data", .array([])), ("code", .int(0))]))
        } catch {
            if isV5 {
                switch error {
                case .rejected(let node, let reason):
                    return .error(400, "BAD_REQUEST", "error on node \(erlangAtom(node)): \(reason)")
                case .nodeNotFound: return .error(404, "NOT_FOUND", error.reason)
                case .nodeDown: return .error(503, "RPC_ERROR", error.reason)
                case .invalidNodes, .badRequest: return .error(400, "BAD_REQUEST", error.reason)
                case .unavailableNodes: return .error(400, "NOT_FOUND", error.reason)
                }
            }
            let message: String
            switch error {
            case .rejected(_, let reason): message = reason
            case .nodeNotFound(let node): message = "invalid node: \(node)"
            case .nodeDown(let node): message = "Error communicating with node \(erlangAtom(node))"
            case .invalidNodes(let nodes): message = "invalid node list in nodes: \(erlangList(nodes))"
            case .unavailableNodes(let nodes): message = "unavailable nodes in nodes: \(erlangList(nodes))"
            case .badRequest(let text): message = text
            }
            return .json(200, .object([("code", .int(400)), ("message", .string(message))]))
        }
    }

    // MARK: Bodies

    static func object(_ body: String) throws(RebalanceRequestError) -> [String: Any] {
        let trimmed = body.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return [:] }
        guard let data = trimmed.data(using: .utf8),
            let parsed = try? JSONSerialization.jsonObject(with: data),
            let object = parsed as? [String: Any]
        else { throw .badRequest("request body is not a JSON object") }
        return object
    }

    static func integer(_ value: Any, _ field: String) throws(RebalanceRequestError) -> Int {
        if let number = value as? NSNumber {
            let double = number.doubleValue
            if double == double.rounded(), abs(double) < 1e15 { return Int(double) }
        }
        throw .badRequest("\(field): expected an integer, got \(value)")
    }

    static func number(_ value: Any, _ field: String) throws(RebalanceRequestError) -> Double {
        if let number = value as? NSNumber { return number.doubleValue }
        throw .badRequest("\(field): expected a number, got \(value)")
    }

    /// `timeout_duration_s`: an integer of seconds or a duration string (`"10s"`, `"1m"`).
    static func seconds(_ value: Any, _ field: String) throws(RebalanceRequestError) -> Int {
        if let text = value as? String {
            let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
            for (suffix, factor) in units where text.hasSuffix(suffix) {
                if let amount = Double(text.dropLast(suffix.count)) {
                    let seconds = (amount * factor).rounded(.up)
                    guard seconds.isFinite, abs(seconds) < 1e15 else {
                        throw .badRequest("\(field): duration \(text) is out of range")
                    }
                    return Int(seconds)
                }
            }
            if let amount = Int(text) { return amount }
            throw .badRequest("\(field): invalid duration \(text)")
        }
        return try integer(value, field)
    }

    static func nodeList(_ value: Any, _ field: String) throws(RebalanceRequestError) -> [String] {
        guard let list = value as? [Any] else { throw .badRequest("\(field): expected a list of node names") }
        var names: [String] = []
        for item in list {
            guard let name = item as? String else { throw .badRequest("\(field): expected a list of node names") }
            names.append(name)
        }
        return names
    }

    static func rebalanceOptions(_ body: String, isV5: Bool) throws(RebalanceRequestError) -> RebalanceOptions {
        var options = RebalanceOptions()
        for (key, value) in try object(body).sorted(by: { $0.key < $1.key }) {
            switch key {
            case "conn_evict_rate": options.connEvictRate = try integer(value, key)
            case "sess_evict_rate": options.sessEvictRate = try integer(value, key)
            case "wait_health_check": options.waitHealthCheck = try seconds(value, key)
            case "wait_takeover": options.waitTakeover = try seconds(value, key)
            case "abs_conn_threshold": options.absConnThreshold = Double(try integer(value, key))
            case "abs_sess_threshold": options.absSessThreshold = Double(try integer(value, key))
            case "rel_conn_threshold": options.relConnThreshold = try number(value, key)
            case "rel_sess_threshold": options.relSessThreshold = try number(value, key)
            case "conn_evict_rpc_timeout" where isV5: options.connEvictRPCTimeout = try integer(value, key)
            case "sess_evict_rpc_timeout" where isV5: options.sessEvictRPCTimeout = try integer(value, key)
            case "nodes": options.nodes = try nodeList(value, key)
            default:
                if !isV5 { throw .badRequest("Unknown rebalance param: {<<\"\(key)\">>,...}") }
            }
        }
        return options
    }

    static func evacuationOptions(_ body: String, isV5: Bool) throws(RebalanceRequestError) -> EvacuationOptions {
        var options = EvacuationOptions()
        for (key, value) in try object(body).sorted(by: { $0.key < $1.key }) {
            switch key {
            case "conn_evict_rate": options.connEvictRate = try integer(value, key)
            case "sess_evict_rate": options.sessEvictRate = try integer(value, key)
            case "wait_health_check": options.waitHealthCheck = try seconds(value, key)
            case "wait_takeover": options.waitTakeover = try seconds(value, key)
            case "redirect_to": options.serverReference = value as? String
            case "migrate_to": options.migrateTo = try nodeList(value, key)
            default:
                if !isV5 { throw .badRequest("Unknown evacuation param: {<<\"\(key)\">>,...}") }
            }
        }
        return options
    }

    // MARK: Answers

    static func nodesV5(_ model: EMQXClusterModel) -> [JSONValue] {
        let clusterSessions = model.nodes.filter(\.isRunning).reduce(0) { $0 + $1.sessions }
        return model.nodes.compactMap { node in
            guard node.isRunning else {
                // Stopped cores stay cluster members and show up with three fields; stopped replicants vanish.
                return node.role == .core
                    ? .object([
                        ("node", .string(node.name)), ("node_status", .string("stopped")), ("role", .string("core")),
                    ])
                    : nil
            }
            let uptime = node.uptime(at: model.now) ?? .zero
            return .object([
                ("node", .string(node.name)),
                ("connections", .int(node.sessions)),
                ("live_connections", .int(node.liveConnections)),
                ("cluster_sessions", .int(clusterSessions)),
                ("load1", .double(0.52)),
                ("load5", .double(0.48)),
                ("load15", .double(0.45)),
                ("max_fds", .int(1_048_576)),
                ("memory_total", .string("7.76G")),
                ("memory_used", .string(String(format: "%.2fM", 1_144.0 + Double(node.liveConnections) / 16.0))),
                ("node_status", .string("running")),
                ("otp_release", .string("26.2.5-3")),
                ("process_available", .int(2_097_152)),
                ("process_used", .int(2_000 + node.liveConnections * 2)),
                ("uptime", .int(Int(uptime / .milliseconds(1)))),
                ("version", .string(model.configuration.version)),
                ("edition", .string("Enterprise")),
                ("sys_path", .string("/opt/emqx")),
                ("log_path", .string("/opt/emqx/log")),
                ("role", .string(node.role.rawValue)),
            ])
        }
    }

    static func nodesV4(_ model: EMQXClusterModel) -> [JSONValue] {
        model.nodes.filter(\.isRunning).map { node in
            .object([
                ("node", .string(node.name)),
                ("connections", .int(node.sessions)),
                ("live_connections", .int(node.liveConnections)),
                ("load1", .string("0.52")),
                ("load5", .string("0.48")),
                ("load15", .string("0.45")),
                ("max_fds", .int(1_048_576)),
                ("memory_total", .string("7.76G")),
                ("memory_used", .string(String(format: "%.2fM", 1_144.0 + Double(node.liveConnections) / 16.0))),
                ("node_status", .string("Running")),
                ("otp_release", .string("24.3.4.2/12.3.2.2")),
                ("process_available", .int(2_097_152)),
                ("process_used", .int(2_000 + node.liveConnections * 2)),
                ("uptime", .string(uptimeText(node.uptime(at: model.now) ?? .zero))),
                ("version", .string(model.configuration.version)),
            ])
        }
    }

    /// EMQX 4.4's `emqx_sys:uptime/0`: `"3 days, 1 hours, 2 minutes, 14 seconds"`, larger units only once reached.
    public static func uptimeText(_ uptime: Duration) -> String {
        let total = Int(uptime / .seconds(1))
        let seconds = total % 60
        let minutes = total / 60 % 60
        let hours = total / 3600 % 24
        let days = total / 86_400
        var text = "\(seconds) seconds"
        if total >= 60 { text = "\(minutes) minutes, " + text }
        if total >= 3600 { text = "\(hours) hours, " + text }
        if total >= 86_400 { text = "\(days) days, " + text }
        return text
    }

    static func localStatus(model: EMQXClusterModel, node: SimulatedEMQXNode, isV5: Bool) -> JSONValue {
        if let evacuation = model.evacuation(of: node.name) {
            var members = evacuationMembers(evacuation, model: model)
            members.insert(("process", .string("evacuation")), at: 0)
            members.insert(("status", .string("enabled")), at: 0)
            return .object(members)
        }
        if let rebalance = model.rebalance(withDonor: node.name) {
            var members: [(String, JSONValue)] = [
                ("status", .string("enabled")),
                ("process", .string("rebalance")),
                ("state", .string(rebalance.state.rawValue)),
                ("coordinator_node", .string(rebalance.coordinator)),
                ("connection_eviction_rate", .int(rebalance.options.connEvictRate)),
                ("session_eviction_rate", .int(rebalance.options.sessEvictRate)),
            ]
            if isV5 {
                members.append(("connection_eviction_rpc_timeout", .int(rebalance.options.connEvictRPCTimeout)))
                members.append(("session_eviction_rpc_timeout", .int(rebalance.options.sessEvictRPCTimeout)))
            }
            if let goal = rebalance.recipientConnectionAverage { members.append(("connection_goal", .double(goal))) }
            if let goal = rebalance.recipientSessionAverage {
                members.append(("disconnected_session_goal", .double(goal)))
            }
            members.append(("recipients", .strings(rebalance.recipients)))
            members.append(
                (
                    "stats",
                    .object([
                        ("initial_connected", .int(rebalance.initialConnections[node.name] ?? 0)),
                        ("initial_sessions", .int(rebalance.initialSessions[node.name] ?? 0)),
                        ("current_connected", .int(node.liveConnections)),
                        ("current_sessions", .int(node.sessions)),
                        ("current_disconnected_sessions", .int(node.disconnectedSessions)),
                    ])
                )
            )
            return .object(members)
        }
        return .object([("status", .string("disabled"))])
    }

    static func evacuationMembers(_ evacuation: EvacuationProcess, model: EMQXClusterModel) -> [(String, JSONValue)] {
        let recipients =
            evacuation.options.migrateTo
            ?? model.nodes.filter { $0.isRunning && $0.name != evacuation.node && $0.isAvailable }.map(\.name)
        return [
            ("state", .string(evacuation.state.rawValue)),
            ("connection_eviction_rate", .int(evacuation.options.connEvictRate)),
            ("session_eviction_rate", .int(evacuation.options.sessEvictRate)),
            ("connection_goal", .int(0)),
            ("session_goal", .int(0)),
            ("session_recipients", .strings(recipients)),
            (
                "stats",
                .object([
                    ("initial_connected", .int(evacuation.initialConnections)),
                    ("current_connected", .int(evacuation.currentConnections)),
                    ("initial_sessions", .int(evacuation.initialSessions)),
                    ("current_sessions", .int(evacuation.currentSessions)),
                ])
            ),
        ]
    }

    static func globalStatus(model: EMQXClusterModel, isV5: Bool) -> JSONValue {
        let running = Set(model.nodes.filter(\.isRunning).map(\.name))
        let rebalances: [JSONValue] = model.rebalances.filter { running.contains($0.coordinator) }.map { process in
            var members: [(String, JSONValue)] = [
                ("node", .string(process.coordinator)),
                ("state", .string(process.state.rawValue)),
                ("coordinator_node", .string(process.coordinator)),
                ("donors", .strings(process.donors)),
                ("recipients", .strings(process.recipients)),
                ("connection_eviction_rate", .int(process.options.connEvictRate)),
                ("session_eviction_rate", .int(process.options.sessEvictRate)),
            ]
            if isV5 {
                members.append(("connection_eviction_rpc_timeout", .int(process.options.connEvictRPCTimeout)))
                members.append(("session_eviction_rpc_timeout", .int(process.options.sessEvictRPCTimeout)))
            }
            if let goal = process.recipientConnectionAverage { members.append(("connection_goal", .double(goal))) }
            if let goal = process.recipientSessionAverage {
                members.append(("disconnected_session_goal", .double(goal)))
            }
            if let average = process.donorConnectionAverage { members.append(("donor_conn_avg", .double(average))) }
            if let average = process.donorSessionAverage { members.append(("donor_sess_avg", .double(average))) }
            return .object(members)
        }
        let evacuations: [JSONValue] = model.evacuations.filter { running.contains($0.node) }.map { evacuation in
            .object([("node", .string(evacuation.node))] + evacuationMembers(evacuation, model: model))
        }
        var members: [(String, JSONValue)] = [("evacuations", .array(evacuations))]
        if isV5 { members.append(("purges", .array([]))) }
        members.append(("rebalances", .array(rebalances)))
        return .object(members)
    }
}
