import Foundation
import Testing

@testable import AutorebalancerCore

struct BacktestInputTests {
    typealias F = BacktestFixture

    static let t = F.t0.timeIntervalSince1970

    /// Each row: a body and the fragments its error must contain (the file name is checked for every row).
    static let garbage: [(name: String, body: Data, fragments: [String])] = [
        (
            "wrong resultType",
            F.body([(["node": "n0"], [(t, "1")])], resultType: "vector"),
            ["resultType is vector, expected matrix", "/api/v1/query_range"]
        ),
        (
            "non-numeric value",
            F.body([(["node": "n0"], [(t, "1")]), (["node": "n1"], [(t, "1"), (t + 30, "lots")])]),
            ["series 1 {node=\"n1\"}", "non-numeric value \"lots\"", "2026-11-20T10:00:30Z"]
        ),
        (
            "value not a string",
            F.body([(["node": "n0"], [(t, 12)])]),
            ["series 0 {node=\"n0\"}", "not a string"]
        ),
        (
            "NaN",
            F.body([(["node": "n0"], [(t, "1")]), (["node": "n1"], [(t, "NaN")])]),
            ["series 1 {node=\"n1\"}", "has the value NaN", "2026-11-20T10:00:00Z"]
        ),
        (
            "+Inf",
            F.body([(["node": "n0"], [(t, "+Inf")])]),
            ["series 0 {node=\"n0\"}", "+Inf"]
        ),
        (
            "negative",
            F.body([(["node": "n0"], [(t, "-3")])]),
            ["series 0 {node=\"n0\"}", "-3", "not negative"]
        ),
        (
            "no node label",
            F.body([(["node": "n0"], [(t, "1")]), (["job": "emqx"], [(t, "1")])]),
            ["series 1 {job=\"emqx\"}", "no node/pod/instance label", "--node-label"]
        ),
        (
            "out of order",
            F.body([(["node": "n0"], [(t, "1"), (t + 60, "1"), (t + 30, "1")])]),
            ["series 0 {node=\"n0\"}", "out of order at 2026-11-20T10:00:30Z", "after 2026-11-20T10:01:00Z"]
        ),
        (
            "repeated timestamp",
            F.body([(["node": "n0"], [(t, "1"), (t, "2")])]),
            ["series 0 {node=\"n0\"}", "out of order"]
        ),
        (
            "empty matrix",
            F.body([]),
            ["holds no series"]
        ),
        (
            "same node twice",
            F.body([(["node": "n0", "job": "a"], [(t, "1")]), (["node": "n0", "job": "b"], [(t, "1")])]),
            ["series 1 {job=\"b\",node=\"n0\"}", "names node n0 again", "max by (node)"]
        ),
        (
            "not JSON",
            Data("<html>502 Bad Gateway</html>".utf8),
            ["not JSON", "502 Bad Gateway"]
        ),
        (
            "empty file",
            Data("\n".utf8),
            ["the file is empty"]
        ),
        (
            "a JSON array",
            Data("[1,2]".utf8),
            ["not a JSON object"]
        ),
        (
            "Prometheus error answer",
            Data(#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#.utf8),
            ["Prometheus error answer", "bad_data", "parse error at char 5"]
        ),
        (
            "no status",
            Data(#"{"data":{"resultType":"matrix","result":[]}}"#.utf8),
            ["no `status`"]
        ),
        (
            "sample not a pair",
            F.body([(["node": "n0"], [])]).replacingValues(with: "[[1795168800]]"),
            ["series 0 {node=\"n0\"} sample 0 is not [time, \"value\"]"]
        ),
        (
            "a count no node holds",
            F.body([(["node": "n0"], [(t, "1e19")])]),
            ["series 0 {node=\"n0\"}", "1e+19", "above the plausible maximum of 100000000"]
        ),
        (
            "the largest double",
            F.body([(["node": "n0"], [(t, "1e308")])]),
            ["series 0 {node=\"n0\"}", "above the plausible maximum"]
        ),
        (
            "a time far beyond any calendar",
            F.body([(["node": "n0"], [(t, "1"), (1e300, "1")])]),
            ["series 0 {node=\"n0\"} sample 1 has the time 1e+300", "after 2200"]
        ),
        (
            "a time of 1",
            F.body([(["node": "n0"], [(1, "1")])]),
            ["series 0 {node=\"n0\"} sample 0 has the time 1, which is before 2000"]
        ),
        (
            "a boolean time",
            F.body([(["node": "n0"], [])]).replacingValues(with: #"[[true, "1"]]"#),
            ["sample 0 has a time that is not a number"]
        ),
    ]

    @Test(arguments: garbage)
    func garbageGetsAClearError(row: (name: String, body: Data, fragments: [String])) {
        do {
            let series = try BacktestMatrix.series(from: row.body, file: "history/conns.json", nodeLabel: nil)
            Issue.record("\(row.name): expected an error, got \(series.count) series")
        } catch {
            #expect(error.file == "history/conns.json", "\(row.name)")
            #expect(error.description.hasPrefix("history/conns.json: "), "\(row.name)")
            for fragment in row.fragments {
                #expect(error.message.contains(fragment), "\(row.name): \(error.message) should contain \(fragment)")
            }
        }
    }

    @Test func theNodeLabelFallsBackFromNodeToPodToInstance() throws {
        let body = F.body([
            (["node": "emqx@a", "pod": "pa", "instance": "10.0.0.1:9100"], [(Self.t, "1")]),
            (["pod": "pb", "instance": "10.0.0.2:9100"], [(Self.t, "2")]),
            (["instance": "10.0.0.3:9100"], [(Self.t, "3")]),
        ])
        let series = try BacktestMatrix.series(from: body, file: "f", nodeLabel: nil)
        #expect(series.map(\.node) == ["10.0.0.3:9100", "emqx@a", "pb"])
        #expect(series.map { $0.samples.map(\.value) } == [[3], [1], [2]])

        let byPod = F.body([(["pod": "pa"], [(Self.t, "1")]), (["instance": "x"], [(Self.t, "1")])])
        #expect {
            try BacktestMatrix.series(from: byPod, file: "f", nodeLabel: "pod")
        } throws: { error in
            (error as? BacktestInputError)?.message.contains("series 1 {instance=\"x\"} has no pod label") == true
        }
    }

    @Test func sessionsMustNameTheSameNodes() throws {
        let connections = try F.series(F.matrix(nodes: 3, steps: 2) { _, _ in 1 })
        let sessions = try F.series(
            F.body([
                (["node": "n0"], [(Self.t, "1")]), (["node": "n1"], [(Self.t, "1")]), (["node": "n9"], [(Self.t, "1")]),
            ]),
            file: "sessions.json"
        )
        #expect {
            try BacktestMatrix.checkSameNodes(
                connections: connections,
                connectionsFile: "conns.json",
                sessions: sessions,
                sessionsFile: "sess.json"
            )
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("sess.json: the nodes differ from those of conns.json")
                && text.contains("n9 are not in conns.json")
                && text.contains("n2 of conns.json are missing")
        }
        try BacktestMatrix.checkSameNodes(
            connections: connections,
            connectionsFile: "a",
            sessions: connections,
            sessionsFile: "b"
        )
    }

    @Test func anEmptySeriesIsAcceptedAndReadsAsNoData() throws {
        let body = F.body([(["node": "n0"], [(Self.t, "1")]), (["node": "n1"], [])])
        let series = try BacktestMatrix.series(from: body, file: "f", nodeLabel: nil)
        #expect(series.map(\.samples.count) == [1, 0])
    }
}

extension Data {
    /// Replaces the first `"values":[]` of a JSON body (for shapes the builder cannot write).
    func replacingValues(with json: String) -> Data {
        Data(
            String(decoding: self, as: UTF8.self).replacingOccurrences(of: #""values":[]"#, with: "\"values\":\(json)")
                .utf8
        )
    }
}
