import Foundation

extension PrometheusResponse {
    /// The answer the agent's loop gets every cycle, an instant vector, decoded straight into its samples: without
    /// the generic JSON tree of ``decode(_:)`` (about a third of the allocations and time for a vector of thousands
    /// of series). `nil` for anything else, or anything unusual, which ``decode(_:)`` then reads and words.
    static func instantVector(_ data: Data) -> PrometheusResponse? {
        guard let answer = try? JSONDecoder().decode(InstantVectorAnswer.self, from: data),
            answer.status == "success", answer.data.resultType == "vector"
        else { return nil }
        var samples: [PrometheusVectorSample] = []
        samples.reserveCapacity(answer.data.result.count)
        for item in answer.data.result {
            guard let value = parseValue(item.value.text) else { return nil }
            samples.append(
                PrometheusVectorSample(
                    labels: item.metric ?? [:],
                    sample: PrometheusSample(time: Date(timeIntervalSince1970: item.value.time), value: value)
                )
            )
        }
        return PrometheusResponse(result: .vector(samples), warnings: answer.warnings ?? [], infos: answer.infos ?? [])
    }
}

/// `{"status":"success","data":{"resultType":"vector","result":[{"metric":{…},"value":[t,"v"]}]}}`.
struct InstantVectorAnswer: Decodable {
    struct Body: Decodable {
        var resultType: String
        var result: [Item]
    }

    struct Item: Decodable {
        var metric: [String: String]?
        var value: Pair
    }

    /// `[time, "value"]`.
    struct Pair: Decodable {
        var time: Double
        var text: String

        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            time = try container.decode(Double.self)
            text = try container.decode(String.self)
            guard container.isAtEnd else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "more than [time, value]")
                )
            }
        }
    }

    var status: String
    var warnings: [String]?
    var infos: [String]?
    var data: Body
}
