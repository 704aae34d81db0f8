import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import Report
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real Alertmanager started on a free loopback port with a temporary configuration and storage, gossip off;
/// stopped by its PID.
final class RealAlertmanager: @unchecked Sendable {  // the process handle is only touched from the test task
    let process = Process()
    let port: Int
    let directory: URL

    init(binary: String) throws {
        port = try Self.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("am-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("alertmanager.yml")
        try "route:\n  receiver: default\n  group_wait: 1s\nreceivers:\n  - name: default\n".write(
            to: config,
            atomically: true,
            encoding: .utf8
        )
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--config.file=\(config.path)",
            "--storage.path=\(directory.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(port)",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Polls `/-/ready` for up to a minute (a bound for a broken install, not a speed requirement: on a loaded machine
    /// Alertmanager can take many seconds to start).
    func waitUntilReady() async throws {
        for _ in 0..<300 {
            if let response = try? await HTTPClient.shared.execute(
                HTTPClientRequest(url: url + "/-/ready"),
                timeout: .seconds(1)
            ),
                response.status == .ok
            {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw CocoaError(
            .fileReadUnknown,
            userInfo: [NSLocalizedDescriptionKey: "Alertmanager on \(url) never became ready"]
        )
    }

    /// Stops it by its PID and waits for it to exit without blocking a thread.
    func stop() async {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            await ChildProcess.waitForExit(process)
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts one, waits until it is ready, runs `body`, and stops it whatever happens.
    static func with(binary: String, _ body: (RealAlertmanager) async throws -> Void) async throws {
        let alertmanager = try RealAlertmanager(binary: binary)
        do {
            try await alertmanager.waitUntilReady()
            try await body(alertmanager)
        } catch {
            await alertmanager.stop()
            throw error
        }
        await alertmanager.stop()
    }

    func alerts() async throws -> [[String: Any]] {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: url + "/api/v2/alerts"),
            timeout: .seconds(5)
        )
        let body = try await response.body.collect(upTo: 1 << 20)
        return (try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [[String: Any]]) ?? []
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw CocoaError(.fileWriteUnknown) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct AlertmanagerClientTests {
    @Test(
        .enabled(
            if: Executables.alertmanager != nil,
            "Alertmanager not found (set ALERTMANAGER_BIN or install prometheus-alertmanager); skipped"
        ),
        .timeLimit(.minutes(3))
    )
    func postsToEveryAlertmanagerAndResolves() async throws {
        try await RealAlertmanager.with(binary: Executables.alertmanager!) { alertmanager in
            // A second receiver that records what it gets: every configured Alertmanager must receive the alerts.
            let received = Mutex<[String]>([])
            let router = Router()
            router.post("/prefix/api/v2/alerts") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                received.withLock { $0.append(String(buffer: body)) }
                return Response(status: .ok)
            }

            let metrics = AgentMetrics(version: "test")
            try await withLoopbackServer(router) { port in
                let client = AlertmanagerClient(
                    targets: [
                        AlertmanagerTarget(name: "real", url: alertmanager.url),
                        AlertmanagerTarget(name: "recorder", url: "http://127.0.0.1:\(port)/prefix/"),
                    ],
                    httpClient: .shared,
                    metrics: metrics
                )
                var keeper = AlertKeeper(
                    configuration: .init(resendInterval: .seconds(60), evaluationInterval: .seconds(15))
                )
                let now = Date()
                let alert = AgentAlert.sourceDown(
                    cluster: "default/emqx-ee",
                    source: "prometheus",
                    error: "timed out after 10s",
                    since: now,
                    generatorURL: "http://agent.example/decisions"
                )

                let deliveries = await client.post(keeper.update(active: [alert], now: now))
                #expect(deliveries.map(\.succeeded) == [true, true], "\(deliveries)")
                let active = try await alertmanager.alerts()
                let ours = active.first {
                    ($0["labels"] as? [String: String])?["alertname"] == "EMQXAutorebalancerSourceDown"
                }
                let labels = try #require(ours?["labels"] as? [String: String])
                #expect(labels["cluster"] == "emqx-ee")
                #expect(labels["namespace"] == "default")
                #expect(labels["source"] == "prometheus")
                #expect((ours?["annotations"] as? [String: String])?["description"] == "timed out after 10s")
                #expect((ours?["status"] as? [String: Any])?["state"] as? String == "active")
                #expect(ours?["generatorURL"] as? String == "http://agent.example/decisions")
                #expect(received.withLock { $0.count } == 1)
                #expect(received.withLock { $0.first ?? "" }.contains("EMQXAutorebalancerSourceDown"))

                // Resolve: endsAt in the past; Alertmanager drops it from the active list.
                let resolved = keeper.update(active: [], now: Date())
                #expect(resolved.count == 1)
                #expect(resolved[0].endsAt >= resolved[0].startsAt)
                #expect(await client.post(resolved).allSatisfy(\.succeeded))
                let after = try await alertmanager.alerts()
                #expect(
                    !after.contains {
                        ($0["labels"] as? [String: String])?["alertname"] == "EMQXAutorebalancerSourceDown"
                    }
                )

                // An alert without labels is rejected, and the reason comes back.
                let invalid = PostableAlert(
                    labels: [:],
                    annotations: [:],
                    startsAt: now,
                    endsAt: now.addingTimeInterval(60),
                    generatorURL: nil
                )
                let rejected = await AlertmanagerClient(
                    targets: [AlertmanagerTarget(name: "real", url: alertmanager.url)],
                    httpClient: .shared,
                    metrics: metrics
                ).post([invalid])
                #expect(rejected.first?.succeeded == false)
                #expect(rejected.first?.status == 400)
                #expect(rejected.first?.error?.contains("at least one label pair required") == true)
            }
            let text = metrics.render()
            #expect(text.contains(#"emqx_autorebalancer_alerts_sent_total{receiver="real",result="success"} 2"#))
            #expect(text.contains(#"emqx_autorebalancer_alerts_sent_total{receiver="real",result="failure"} 1"#))
        }
    }

    @Test func unreachableAlertmanagerIsReported() async {
        let client = AlertmanagerClient(
            targets: [AlertmanagerTarget(name: "gone", url: "http://127.0.0.1:9")],
            httpClient: .shared,
            timeout: .seconds(2)
        )
        let now = Date()
        let result = await client.post([
            PostableAlert(labels: ["alertname": "X"], annotations: [:], startsAt: now, endsAt: now, generatorURL: nil)
        ])
        #expect(result.count == 1)
        #expect(result.first?.succeeded == false)
        #expect(result.first?.error?.contains("127.0.0.1:9") == true)
    }
}
