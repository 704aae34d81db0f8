import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

@testable import Simulation

/// The simulated API server's watches, read as raw event lines over HTTP: the contract the agent's cache relies on.
struct KubernetesWatchTests {
    static let path = "/apis/apps.emqx.io/v2beta1/namespaces/default/rebalances"

    /// Reads event lines of a watch until `count` arrived or the server ends the stream; `whileOpen` runs once the
    /// answer's head is in (the server registers the watch before it answers).
    static func events(
        _ client: SimulatedAPIClient,
        _ query: String,
        count: Int,
        whileOpen: @Sendable () async throws -> Void = {}
    ) async throws -> [KubernetesJSON] {
        var request = HTTPClientRequest(url: client.baseURL.absoluteString + path + "?watch=1&" + query)
        request.headers.add(name: "Authorization", value: "Bearer \(SimulatedKubernetesAPI.defaultToken)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        #expect(response.status == .ok)
        try await whileOpen()
        var lines: [KubernetesJSON] = []
        var pending = Data()
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(try KubernetesJSON.parse(Data(pending[pending.startIndex..<newline])))
                pending = Data(pending[pending.index(after: newline)...])
            }
            if lines.count >= count { break }
        }
        return lines
    }

    static func summary(_ events: [KubernetesJSON]) -> [String] {
        events.map { "\($0["type"]?.stringValue ?? "") \($0["object"]?["metadata"]?["name"]?.stringValue ?? "")" }
    }

    @Test func aWatchSendsTheChangesAfterItsVersionAndFollowsItsLabelSelector() async throws {
        try await withSimulatedAPI { _, client in
            _ = try await client.send("POST", Self.path, rebalanceBody("r1", labels: ["a": "b"]))
            _ = try await client.send("POST", Self.path, rebalanceBody("r0", labels: ["a": "b"]))
            let version = try #require(
                try await client.send("GET", Self.path).body["metadata"]?["resourceVersion"]?.stringValue
            )
            let events = try await Self.events(
                client,
                "resourceVersion=\(version)&labelSelector=a%3Db&timeoutSeconds=30",
                count: 3
            ) {
                _ = try await client.send("POST", Self.path, rebalanceBody("r2", labels: ["a": "b"]))
                _ = try await client.send("POST", Self.path, rebalanceBody("ignored", labels: ["a": "c"]))
                _ = try await client.send(
                    "PATCH",
                    Self.path + "/r2",
                    ["metadata": ["annotations": ["x": "y"]]],
                    contentType: "application/merge-patch+json"
                )
                _ = try await client.send(
                    "PATCH",
                    Self.path + "/r1",
                    ["metadata": ["labels": ["a": "gone"]]],
                    contentType: "application/merge-patch+json"
                )
            }
            #expect(
                Self.summary(events) == ["ADDED r2", "MODIFIED r2", "DELETED r1"],
                "r1 stopped matching: DELETED for this watch"
            )
            let versions = events.compactMap {
                $0["object"]?["metadata"]?["resourceVersion"]?.stringValue.flatMap { Int($0) }
            }
            #expect(versions == versions.sorted() && versions.count == 3 && versions[0] > Int(version)!)
        }
    }

    @Test func withoutAVersionTheCurrentObjectsComeFirstAndADeletionHasItsOwnVersion() async throws {
        try await withSimulatedAPI { api, client in
            _ = try await client.send("POST", Self.path, rebalanceBody("r1"))
            let events = try await Self.events(client, "timeoutSeconds=30", count: 2) {
                _ = try await client.send("DELETE", Self.path + "/r1")
            }
            #expect(Self.summary(events) == ["ADDED r1", "DELETED r1"])
            #expect(events[1]["object"]?["metadata"]?["resourceVersion"]?.stringValue == String(api.revision))
        }
    }

    @Test func aVersionOlderThanTheHistoryIsAnExpiredError() async throws {
        try await withSimulatedAPI { api, client in
            let version = try #require(
                try await client.send("GET", Self.path).body["metadata"]?["resourceVersion"]?.stringValue
            )
            _ = try await client.send("POST", Self.path, rebalanceBody("r1"))
            api.compactWatchHistory()
            let events = try await Self.events(client, "resourceVersion=\(version)&timeoutSeconds=30", count: 1)
            #expect(events.count == 1)
            #expect(events.first?["type"]?.stringValue == "ERROR")
            #expect(events.first?["object"]?["code"]?.intValue == 410)
            #expect(events.first?["object"]?["reason"]?.stringValue == "Expired")
        }
    }

    @Test func bookmarksCarryTheRevisionOnlyWhereAllowed() async throws {
        try await withSimulatedAPI(.init(watchBookmarkInterval: nil)) { api, client in
            _ = try await client.send("POST", Self.path, rebalanceBody("r1"))
            let version = String(api.revision)
            let events = try await Self.events(
                client,
                "resourceVersion=\(version)&allowWatchBookmarks=true&timeoutSeconds=30",
                count: 2
            ) {
                _ = try await client.send(
                    "POST",
                    "/apis/apps.emqx.io/v2beta1/namespaces/elsewhere/rebalances",
                    rebalanceBody("other")
                )
                while api.openWatches == 0 { try await Task.sleep(for: .milliseconds(10)) }
                api.sendWatchBookmarks()
                _ = try await client.send("POST", Self.path, rebalanceBody("r2"))
            }
            // The bookmark may come before or after the event of r2; it is at least the other namespace's write.
            let bookmark = try #require(events.first { $0["type"]?.stringValue == "BOOKMARK" })
            #expect(Int(bookmark["object"]?["metadata"]?["resourceVersion"]?.stringValue ?? "") ?? 0 > Int(version)!)
            #expect(events.contains { $0["type"]?.stringValue == "ADDED" })
        }
    }

    @Test func theServerEndsAWatchAtItsTimeoutAndOnShutdown() async throws {
        try await withSimulatedAPI { api, client in
            _ = try await client.send("POST", Self.path, rebalanceBody("r1"))
            let events = try await Self.events(client, "timeoutSeconds=1", count: 100)
            #expect(Self.summary(events) == ["ADDED r1"], "the stream ended after one second with what it had")
            #expect(api.openWatches == 0)
        }
    }
}
