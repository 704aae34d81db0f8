import Foundation
import Testing

@testable import AutorebalancerCore

/// Decoding errors as a person reads them: the field and what was expected.
struct DecodingProblemTests {
    struct Object: Decodable {
        struct Spec: Decodable {
            var rate: Int
            var nodes: [String]
        }
        var spec: Spec
    }

    @Test(arguments: [
        (#"{"spec": {"rate": "fast", "nodes": []}}"#, "spec.rate: expected an integer, got a string"),
        (#"{"spec": {"rate": 1, "nodes": [1]}}"#, "spec.nodes[0]: expected a string, got number"),
        (#"{"spec": {"nodes": []}}"#, "spec.rate: required, missing"),
        (#"{"spec": {"rate": null, "nodes": []}}"#, "spec.rate: expected an integer, got null"),
        (#"{"spec": 5}"#, "spec: expected an object, got number"),
        ("<!DOCTYPE html>", "not a valid document (The given data was not valid JSON)"),
    ])
    func describesTheFieldAndTheProblem(_ json: String, _ expected: String) {
        do {
            _ = try JSONDecoder().decode(Object.self, from: Data(json.utf8))
            Issue.record("decoded \(json)")
        } catch {
            let problem = DecodingProblem(error)
            #expect(problem.description == expected)
            #expect(!problem.description.contains("CodingKeys"))
        }
    }

    @Test(arguments: [(20.0, "20s"), (0.15, "0.15s"), (1.6, "1.6s"), (90, "1m30s"), (5400, "1h30m")])
    func durationsPrintShort(_ seconds: Double, _ text: String) {
        #expect(Duration.milliseconds(Int64(seconds * 1000)).text == text)
    }
}
