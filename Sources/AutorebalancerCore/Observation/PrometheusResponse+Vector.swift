import Foundation

extension PrometheusResponse {
    /// The answer the agent's loop gets every cycle, an instant vector
    /// (`{"status":"success","data":{"resultType":"vector","result":[{"metric":{…},"value":[t,"v"]}]}}`), read
    /// straight from its bytes into samples: without the generic JSON tree of ``decodeAnyAnswer(_:)`` or a
    /// `JSONDecoder` (at 200 clusters the decoder was a third of the agent's CPU per cycle). `nil` for anything else,
    /// or anything unusual (a repeated key, a `null` where an object belongs), which ``decodeAnyAnswer(_:)`` then
    /// reads and words.
    static func instantVector(_ data: Data) -> PrometheusResponse? {
        data.withUnsafeBytes { bytes in
            var reader = JSONByteReader(bytes)
            var answer = VectorAnswer()
            guard reader.object({ reader, key in answer.read(key, &reader) }), reader.atEnd(),
                answer.status == "success", answer.resultType == "vector", let samples = answer.samples
            else { return nil }
            return PrometheusResponse(result: .vector(samples), warnings: answer.warnings, infos: answer.infos)
        }
    }
}

/// What ``PrometheusResponse/instantVector(_:)`` has read so far; the members come in any order.
private struct VectorAnswer {
    var status: String?
    var warnings: [String] = []
    var infos: [String] = []
    var resultType: String?
    var samples: [PrometheusVectorSample]?

    mutating func read(_ key: String, _ reader: inout JSONByteReader) -> Bool {
        switch key {
        case "status":
            status = reader.string()
            return status != nil
        case "warnings", "infos":
            guard let texts = reader.strings() else { return false }
            if key == "warnings" { warnings = texts } else { infos = texts }
            return true
        case "data":
            return reader.object { reader, key in
                switch key {
                case "resultType":
                    resultType = reader.string()
                    return resultType != nil
                case "result":
                    var read: [PrometheusVectorSample] = []
                    guard reader.array({ reader in Self.item(&reader).map { read.append($0) } != nil }) else {
                        return false
                    }
                    samples = read
                    return true
                default:
                    return reader.skipValue()
                }
            }
        default:
            return reader.skipValue()
        }
    }

    /// `{"metric":{"name":"value",…},"value":[time,"value"]}`; `metric` may be left out (no labels).
    static func item(_ reader: inout JSONByteReader) -> PrometheusVectorSample? {
        var labels: [String: String] = [:]
        var sample: PrometheusSample?
        let read = reader.object { reader, key in
            switch key {
            case "metric":
                return reader.object { reader, name in
                    guard let value = reader.string() else { return false }
                    labels[name] = value
                    return true
                }
            case "value":
                var time: Double?
                var value: Double?
                var count = 0
                let pair = reader.array { reader in
                    count += 1
                    switch count {
                    case 1: time = reader.number()
                    case 2: value = reader.string().flatMap(PrometheusResponse.parseValue)
                    default: return false
                    }
                    return (count == 1 ? time : value) != nil
                }
                guard pair, let time, let value else { return false }
                sample = PrometheusSample(time: Date(timeIntervalSince1970: time), value: value)
                return true
            default:
                return reader.skipValue()
            }
        }
        guard read, let sample else { return nil }
        return PrometheusVectorSample(labels: labels, sample: sample)
    }
}
