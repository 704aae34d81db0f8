// The footprint baseline: the smallest server built from the same libraries as the agent (Hummingbird,
// swift-prometheus, AsyncHTTPClient, Yams), serving /metrics and otherwise idle. `footprint` runs it beside the agent
// so the agent's memory and CPU read as a difference from what the libraries cost anyway.
// Usage: footprint-probe [PORT]   (default 0: an ephemeral port, printed on standard output)
import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import Prometheus
import Yams

struct ProbeSettings: Decodable {
    var host: String
    var port: Int
}

let arguments = CommandLine.arguments.dropFirst()
let yaml = "host: 127.0.0.1\nport: \(arguments.first ?? "0")\n"
let settings = try YAMLDecoder().decode(ProbeSettings.self, from: yaml)

let registry = PrometheusCollectorRegistry()
let requests = registry.makeCounter(name: "probe_requests_total", help: "Requests served.")
registry.makeGauge(name: "probe_up", help: "Always 1.").set(1.0)
// A client like the agent's, kept alive for the life of the process.
let client = HTTPClient(eventLoopGroupProvider: .singleton)

let router = Router()
router.get("/metrics") { _, _ -> Response in
    requests.increment()
    var buffer: [UInt8] = []
    registry.emit(into: &buffer)
    return Response(
        status: .ok,
        headers: [.contentType: "text/plain; version=0.0.4"],
        body: .init(byteBuffer: ByteBuffer(bytes: buffer))
    )
}
let app = Application(
    router: router,
    configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
    onServerRunning: { channel in
        FileHandle.standardOutput.write(Data("listening \(channel.localAddress?.port ?? 0)\n".utf8))
    }
)
try await app.runService()
try await client.shutdown()
