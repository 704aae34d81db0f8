import Foundation
import TestSupport
import Testing

@testable import AutorebalancerCore

struct PrometheusResponseTests {
    @Test func decodesVectorWithWarnings() throws {
        let body =
            #"{"status":"success","warnings":["partial data"],"data":{"resultType":"vector","result":[{"metric":{"node":"emqx@a"},"value":[1795621027.5,"12"]},{"metric":{"node":"emqx@b"},"value":[1795621027.5,"NaN"]}]}}"#
        let response = try PrometheusResponse.decode(Data(body.utf8))
        #expect(response.warnings == ["partial data"])
        let vector = try response.vector()
        #expect(vector.count == 2)
        #expect(vector[0].labels == ["node": "emqx@a"])
        #expect(vector[0].sample.value == 12)
        #expect(vector[0].sample.time == Date(timeIntervalSince1970: 1795621027.5))
        #expect(vector[1].sample.value.isNaN)
        #expect(throws: PrometheusResponseError.unexpectedResultType(expected: "matrix", got: "vector")) {
            try response.matrix()
        }
    }

    @Test func decodesErrorEnvelope() {
        let body = #"{"status":"error","errorType":"bad_data","error":"parse error"}"#
        #expect(throws: PrometheusResponseError.apiError(errorType: "bad_data", error: "parse error", warnings: [])) {
            try PrometheusResponse.decode(Data(body.utf8))
        }
    }

    @Test(arguments: [
        "<html>502 Bad Gateway</html>",
        "[]",
        #"{"status":"success"}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}}"#,
        #"{"status":"success","data":{"resultType":"weird","result":[]}}"#,
    ])
    func rejectsGarbage(body: String) {
        #expect(throws: PrometheusResponseError.self) { try PrometheusResponse.decode(Data(body.utf8)) }
    }

    @Test func decodesScalar() throws {
        let response = try PrometheusResponse.decode(
            Data(#"{"status":"success","data":{"resultType":"scalar","result":[10,"+Inf"]}}"#.utf8)
        )
        #expect(response.result == .scalar(PrometheusSample(time: Date(timeIntervalSince1970: 10), value: .infinity)))
    }

    @Test(.enabled(if: Fixtures.available, "../shared/fixtures not found; recorded Prometheus responses skipped"))
    func decodesRecordedResponses() throws {
        let vector = try PrometheusResponse.decode(Fixtures.data("prometheus/query-vector-live-connections.json"))
            .vector()
        #expect(vector.map(\.sample.value) == [3333, 3333, 3334, 154])
        #expect(vector[3].labels["pod"] == "emqx-ee-3")
        let matrix = try PrometheusResponse.decode(Fixtures.data("prometheus/query-range-live-connections.json"))
            .matrix()
        #expect(matrix.count == 4)
        #expect(matrix[3].samples.map(\.value) == [34, 49, 64, 79, 94, 109, 124, 139, 154])
        #expect(matrix[3].samples[1].time.timeIntervalSince(matrix[3].samples[0].time) == 5)
        #expect(try PrometheusResponse.decode(Fixtures.data("prometheus/query-vector-empty.json")).vector().isEmpty)
        let errorBody = try Fixtures.data("prometheus/query-error-bad-expr.json")
        let error = #expect(throws: PrometheusResponseError.self) { try PrometheusResponse.decode(errorBody) }
        guard case .apiError(let type, let text, _) = error else {
            Issue.record("expected an API error, got \(String(describing: error))")
            return
        }
        #expect(type == "bad_data")
        #expect(text.contains("unclosed left parenthesis"))
    }
}

struct PrometheusNodeIdentityTests {
    static let expected = [
        "emqx@emqx-ee-0.emqx-ee-headless.default.svc.cluster.local",
        "emqx@emqx-ee-1.emqx-ee-headless.default.svc.cluster.local",
        "emqx@emqx-ee-10.emqx-ee-headless.default.svc.cluster.local",
        "emqx@10.0.3.7",
    ]

    @Test(
        arguments: [
            (
                "emqx@emqx-ee-0.emqx-ee-headless.default.svc.cluster.local",
                "emqx@emqx-ee-0.emqx-ee-headless.default.svc.cluster.local"
            ),
            ("emqx-ee-1", "emqx@emqx-ee-1.emqx-ee-headless.default.svc.cluster.local"),
            ("emqx-ee-10", "emqx@emqx-ee-10.emqx-ee-headless.default.svc.cluster.local"),
            (
                "emqx-ee-1.emqx-ee-headless.default.svc:18083",
                "emqx@emqx-ee-1.emqx-ee-headless.default.svc.cluster.local"
            ),
            ("10.0.3.7:18083", "emqx@10.0.3.7"),
            ("10.0.3.7", "emqx@10.0.3.7"),
            ("emqx-ee-2", nil),
            ("emqx@emqx-ee-9.x", nil),
            ("10.0.3.70:18083", nil),
        ] as [(String, String?)]
    )
    func maps(value: String, node: String?) {
        #expect(PrometheusNodeIdentity.nodeName(forLabelValue: value, expected: Self.expected) == node)
    }

    @Test func withoutExpectedNodesTheValueIsTheName() {
        #expect(PrometheusNodeIdentity.nodeName(forLabelValue: "emqx-ee-0", expected: []) == "emqx-ee-0")
    }
}

struct PrometheusResponseTimeTests {
    @Test(arguments: [("1", 1.0), ("0", 0.0), ("1795620987", 1795620987.0), ("1795621027.659", 1795621027.659)])
    func integerAndFractionalTimes(text: String, seconds: Double) throws {
        let body =
            #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["# + text
            + #","5"]}]}}"#
        let vector = try PrometheusResponse.decode(Data(body.utf8)).vector()
        #expect(vector.first?.sample.time == Date(timeIntervalSince1970: seconds))
    }
}

/// The instant-vector fast path reads exactly what the general reader reads, and leaves everything unusual to it.
struct PrometheusVectorFastPathTests {
    @Test(arguments: [
        #"{"status":"success","warnings":["partial data"],"infos":["a note"],"data":{"resultType":"vector","result":[{"metric":{"node":"emqx@a","cluster":"c"},"value":[1795621027.5,"12"]},{"metric":{"node":"emqx@b"},"value":[1795621027,"NaN"]},{"metric":{},"value":[1,"+Inf"]},{"value":[2,"-1e3"]}]}}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
        // Members in another order, whitespace, members it does not know, escapes and non-ASCII.
        #"""
         { "data" : { "result" : [ { "value" : [ 1.5e9 , "7" ] , "extra" : [ { "a" : [ true, false, null, -0.5E-2 ] } ] ,
           "metric" : { "node" : "emqx@a\\b\"c\u00e9\ud83d\ude00\/\n\té", "z" : "" } } ] , "resultType" : "vector" ,
           "stats": {} }, "status" : "success" }
        """#,
    ])
    func readsWhatTheGeneralReaderReads(body: String) throws {
        let fast = try #require(PrometheusResponse.instantVector(Data(body.utf8)))
        let general = try PrometheusResponse.decodeAnyAnswer(Data(body.utf8))
        #expect(fast.warnings == general.warnings)
        #expect(fast.infos == general.infos)
        let (a, b) = (try fast.vector(), try general.vector())
        #expect(a.count == b.count)
        for (x, y) in zip(a, b) {
            #expect(x.labels == y.labels)
            #expect(x.sample.time == y.sample.time)
            #expect(x.sample.value == y.sample.value || (x.sample.value.isNaN && y.sample.value.isNaN))
        }
    }

    @Test(arguments: [
        #"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
        #"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"node":"a"},"value":[1,"12","extra"]}]}}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"node":1},"value":[1,"12"]}]}}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"twelve"]}]}}"#,
        #"{"status":"success","warnings":[1],"data":{"resultType":"vector","result":[]}}"#,
        "not json",
        // Repeated keys, `null` where an object belongs, numbers and strings outside JSON's grammar, trailing bytes.
        #"{"status":"success","status":"error","data":{"resultType":"vector","result":[]}}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1","a":"2"},"value":[1,"1"]}]}}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":null,"value":[1,"1"]}]}}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[01,"1"]}]}}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1e999,"1"]}]}}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[+1,"1"]}]}}"#,
        // More digits than every reader rounds alike.
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1798847967225589.1,"1"]}]}}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"\ud800"},"value":[1,"1"]}]}}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"\x"},"value":[1,"1"]}]}}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[]}} {}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[],}}"#,
        "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"a\":\"\u{1}\"},\"value\":[1,\"1\"]}]}}",
        String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
        #"{"status":"success","x":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}",
    ])
    func leavesEverythingElseToTheGeneralReader(body: String) {
        #expect(PrometheusResponse.instantVector(Data(body.utf8)) == nil)
    }

    @Test func leavesInvalidUTF8ToTheGeneralReader() {
        var body = Array(#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"x"#.utf8)
        body += [0xFF, 0xFE]
        body += Array(#""},"value":[1,"1"]}]}}"#.utf8)
        #expect(PrometheusResponse.instantVector(Data(body)) == nil)
    }
}
