import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

@testable import Simulation

/// A plain HTTP answer as a test sees it.
struct HTTPAnswer {
    var status: Int
    var body: String
    var contentType: String?

    /// The body parsed as JSON.
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }
    var object: [String: Any] { json as? [String: Any] ?? [:] }
    var array: [[String: Any]] { json as? [[String: Any]] ?? [] }
}

enum SimHTTP {
    /// A GET over loopback with a bounded timeout.
    static func send(
        _ url: URL,
        _ path: String,
        credentials: EMQXAPICredentials? = nil,
        timeout: TimeAmount = .seconds(10)
    ) async throws -> HTTPAnswer {
        try await send(.GET, url, path, credentials: credentials, timeout: timeout)
    }

    /// Sends one request over loopback with a bounded timeout.
    static func send(
        _ method: HTTPMethod,
        _ url: URL,
        _ path: String,
        credentials: EMQXAPICredentials? = nil,
        body: String? = nil,
        timeout: TimeAmount = .seconds(10)
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url.absoluteString + path)
        request.method = method
        if let credentials {
            let token = Data("\(credentials.key):\(credentials.secret)".utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic \(token)")
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let buffer = try await response.body.collect(upTo: 8 << 20)
        return HTTPAnswer(
            status: Int(response.status.code),
            body: String(buffer: buffer),
            contentType: response.headers.first(name: "Content-Type")
        )
    }
}

extension SimulatedEMQXCluster {
    /// Runs `body` with the cluster's servers started, and always stops them.
    func serving<T>(_ body: () async throws -> T) async throws -> T {
        try await start()
        do {
            let result = try await body()
            await stop()
            return result
        } catch {
            await stop()
            throw error
        }
    }

    func url(_ index: Int) -> URL {
        endpoint(of: nodes[index].name)!
    }

    func live(_ index: Int) -> Int { nodes[index].liveConnections }
}

/// The body the EMQX operator sends to start a rebalance (`getRequestBytes`): integers and floats, all nodes.
func operatorStartBody(
    nodes: [String],
    connEvictRate: Int = 10,
    sessEvictRate: Int = 10,
    waitTakeover: Int = 10,
    waitHealthCheck: Int = 10,
    absConn: Int = 100,
    absSess: Int = 100,
    relConn: Double = 1.1,
    relSess: Double = 1.1
) -> String {
    let list = nodes.map { "\"\($0)\"" }.joined(separator: ",")
    return """
        {"conn_evict_rate":\(connEvictRate),"sess_evict_rate":\(sessEvictRate),"wait_takeover":\(waitTakeover),\
        "wait_health_check":\(waitHealthCheck),"abs_conn_threshold":\(absConn),"abs_sess_threshold":\(absSess),\
        "rel_conn_threshold":\(relConn),"rel_sess_threshold":\(relSess),"nodes":[\(list)]}
        """
}

/// The seed scenario's rebalance strategy as model options.
func seedOptions() -> RebalanceOptions {
    var options = RebalanceOptions()
    options.connEvictRate = 10
    options.sessEvictRate = 10
    options.waitTakeover = 10
    options.waitHealthCheck = 10
    options.absConnThreshold = 100
    options.absSessThreshold = 100
    options.relConnThreshold = 1.1
    options.relSessThreshold = 1.1
    return options
}

/// A five-node EMQX 5 cluster used by several tests.
func emqx5Configuration(
    _ counts: [Int],
    seed: UInt64 = 7,
    loadBalancer: LoadBalancerPolicy = .roundRobin,
    statsRequireAuth: Bool = false
) -> SimulatedEMQXConfiguration {
    SimulatedEMQXConfiguration(
        name: "emqx",
        namespace: "mqtt",
        kind: .emqx,
        nodes: counts.map { SimulatedNodeSpec(liveConnections: $0) },
        loadBalancer: loadBalancer,
        seed: seed,
        statsRequireAuth: statsRequireAuth
    )
}
