import Foundation

/// One sample of a Prometheus series: its time and its value (Prometheus sends values as strings, e.g. `"NaN"`).
public struct PrometheusSample: Sendable, Hashable {
    public var time: Date
    public var value: Double

    public init(time: Date, value: Double) {
        self.time = time
        self.value = value
    }
}

/// One series of an instant vector: its labels and its single sample.
public struct PrometheusVectorSample: Sendable, Hashable {
    public var labels: [String: String]
    public var sample: PrometheusSample

    public init(labels: [String: String], sample: PrometheusSample) {
        self.labels = labels
        self.sample = sample
    }
}

/// One series of a range matrix: its labels and its samples in time order.
public struct PrometheusMatrixSeries: Sendable, Hashable {
    public var labels: [String: String]
    public var samples: [PrometheusSample]

    public init(labels: [String: String], samples: [PrometheusSample]) {
        self.labels = labels
        self.samples = samples
    }
}

/// The `data` of a successful `/api/v1/query` or `/api/v1/query_range` answer.
public enum PrometheusResult: Sendable, Hashable {
    case vector([PrometheusVectorSample])
    case matrix([PrometheusMatrixSeries])
    case scalar(PrometheusSample)
    case string(time: Date, value: String)
}

/// A decoded successful answer of the Prometheus HTTP API, with the warnings Prometheus attached.
public struct PrometheusResponse: Sendable, Hashable {
    public var result: PrometheusResult
    /// `warnings` of the answer (e.g. partial data from a remote-read backend); shown to the user, never ignored.
    public var warnings: [String]
    /// `infos` of the answer (Prometheus 3: annotations such as PromQL hints).
    public var infos: [String]

    public init(result: PrometheusResult, warnings: [String] = [], infos: [String] = []) {
        self.result = result
        self.warnings = warnings
        self.infos = infos
    }

    /// The series of an instant vector; throws when the answer is another result type.
    public func vector() throws(PrometheusResponseError) -> [PrometheusVectorSample] {
        if case .vector(let samples) = result { return samples }
        throw .unexpectedResultType(expected: "vector", got: result.typeName)
    }

    /// The series of a range matrix; throws when the answer is another result type.
    public func matrix() throws(PrometheusResponseError) -> [PrometheusMatrixSeries] {
        if case .matrix(let series) = result { return series }
        throw .unexpectedResultType(expected: "matrix", got: result.typeName)
    }

    /// Decodes the JSON body of `/api/v1/query` or `/api/v1/query_range` (success or error envelope).
    ///
    /// Throws ``PrometheusResponseError/apiError(errorType:error:warnings:)`` for `status: error`, and
    /// ``PrometheusResponseError/malformed(_:)`` for a body that is not a Prometheus API answer.
    public static func decode(_ data: Data) throws(PrometheusResponseError) -> PrometheusResponse {
        if let vector = instantVector(data) { return vector }
        return try decodeAnyAnswer(data)
    }

    /// Every answer shape (and every problem, worded), through a generic JSON tree: what ``decode(_:)`` falls back to
    /// when its instant-vector reader leaves an answer (public for the fuzzing harness, which compares the two).
    public static func decodeAnyAnswer(_ data: Data) throws(PrometheusResponseError) -> PrometheusResponse {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw .malformed("the body is not JSON (\(Self.preview(data)))")
        }
        guard let root = object as? [String: Any] else {
            throw .malformed("the body is not a JSON object (\(Self.preview(data)))")
        }
        let warnings = (root["warnings"] as? [Any])?.map { "\($0)" } ?? []
        let infos = (root["infos"] as? [Any])?.map { "\($0)" } ?? []
        guard let status = root["status"] as? String else {
            throw .malformed("no `status` field (\(Self.preview(data)))")
        }
        if status == "error" {
            throw .apiError(
                errorType: SafeText.forLog(root["errorType"] as? String ?? "unknown"),
                error: SafeText.forLog(root["error"] as? String ?? "no error text"),
                warnings: warnings
            )
        }
        guard status == "success" else { throw .malformed("unknown `status` \"\(SafeText.forLog(status))\"") }
        guard let dataObject = root["data"] as? [String: Any] else { throw .malformed("no `data` object") }
        guard let resultType = dataObject["resultType"] as? String else { throw .malformed("no `data.resultType`") }
        let raw = dataObject["result"]
        let result: PrometheusResult
        switch resultType {
        case "vector":
            guard let items = raw as? [Any] else { throw .malformed("`data.result` of a vector is not an array") }
            result = .vector(
                try items.enumerated().map { index, item throws(PrometheusResponseError) in
                    guard let series = item as? [String: Any] else {
                        throw .malformed("vector item \(index) is not an object")
                    }
                    return PrometheusVectorSample(
                        labels: try labels(series["metric"], at: "vector item \(index)"),
                        sample: try sample(series["value"], at: "vector item \(index) value")
                    )
                }
            )
        case "matrix":
            guard let items = raw as? [Any] else { throw .malformed("`data.result` of a matrix is not an array") }
            result = .matrix(
                try items.enumerated().map { index, item throws(PrometheusResponseError) in
                    guard let series = item as? [String: Any] else {
                        throw .malformed("matrix item \(index) is not an object")
                    }
                    guard let values = (series["values"] ?? []) as? [Any] else {
                        throw .malformed("matrix item \(index) `values` is not an array")
                    }
                    var samples: [PrometheusSample] = []
                    samples.reserveCapacity(values.count)
                    for (sampleIndex, value) in values.enumerated() {
                        samples.append(try sample(value, at: "matrix item \(index) value \(sampleIndex)"))
                    }
                    return PrometheusMatrixSeries(
                        labels: try labels(series["metric"], at: "matrix item \(index)"),
                        samples: samples
                    )
                }
            )
        case "scalar":
            result = .scalar(try sample(raw, at: "scalar"))
        case "string":
            guard let pair = raw as? [Any], pair.count == 2, let time = number(pair[0]), let text = pair[1] as? String
            else {
                throw .malformed("string result is not [time, \"text\"]")
            }
            result = .string(time: Date(timeIntervalSince1970: time), value: text)
        default:
            throw .malformed("unknown `data.resultType` \"\(SafeText.forLog(resultType))\"")
        }
        return PrometheusResponse(result: result, warnings: warnings, infos: infos)
    }

    private static func labels(_ raw: Any?, at place: String) throws(PrometheusResponseError) -> [String: String] {
        guard let raw else { return [:] }
        guard let object = raw as? [String: Any] else { throw .malformed("\(place) `metric` is not an object") }
        var labels: [String: String] = [:]
        for (key, value) in object {
            guard let text = value as? String else {
                throw .malformed("\(place) label \(SafeText.forLog(key)) is not a string")
            }
            labels[key] = text
        }
        return labels
    }

    private static func sample(_ raw: Any?, at place: String) throws(PrometheusResponseError) -> PrometheusSample {
        guard let pair = raw as? [Any], pair.count == 2 else { throw .malformed("\(place) is not [time, \"value\"]") }
        guard let time = number(pair[0]) else { throw .malformed("\(place) time is not a number") }
        guard let text = pair[1] as? String, let value = parseValue(text) else {
            throw .malformed("\(place) value is not a number string")
        }
        return PrometheusSample(time: Date(timeIntervalSince1970: time), value: value)
    }

    private static func number(_ raw: Any) -> Double? {
        JSONNumber.value(raw)
    }

    /// Prometheus writes `NaN`, `+Inf` and `-Inf` as such; everything else is a Go float.
    static func parseValue(_ text: String) -> Double? {
        switch text {
        case "NaN": return .nan
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        default: return Double(text)
        }
    }

    private static func preview(_ data: Data) -> String {
        let text = SafeText.forLog(String(decoding: data.prefix(80), as: UTF8.self))
        return data.count > 80 ? "starts with \"\(text)…\"" : "\"\(text)\""
    }
}

extension PrometheusResult {
    /// `vector`, `matrix`, `scalar` or `string`, as Prometheus names them.
    public var typeName: String {
        switch self {
        case .vector: "vector"
        case .matrix: "matrix"
        case .scalar: "scalar"
        case .string: "string"
        }
    }
}

/// Why a Prometheus API answer could not be used.
public enum PrometheusResponseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `status: error`: Prometheus rejected the query (`bad_data`, `timeout`, `execution`, ...).
    case apiError(errorType: String, error: String, warnings: [String])
    /// The body is not a Prometheus API answer.
    case malformed(String)
    /// A query answered with another result type than the caller needs.
    case unexpectedResultType(expected: String, got: String)

    public var description: String {
        switch self {
        case .apiError(let type, let error, _):
            "Prometheus answered status error (\(type)): \(error); check the query and the selector"
        case .malformed(let text):
            "not a Prometheus API answer: \(text); check that the URL points at the Prometheus server"
        case .unexpectedResultType(let expected, let got):
            "the query returned a \(got), expected a \(expected); the query must select an instant vector"
        }
    }
}

/// Numbers out of `JSONSerialization` objects.
public enum JSONNumber {
    /// The number `raw` holds; `nil` for anything else, JSON `true`/`false` included (Foundation bridges those to
    /// `NSNumber` 1 and 0, and `1 is Bool` holds for a plain JSON `1` too, so the boolean is told by its type code).
    public static func value(_ raw: Any) -> Double? {
        guard let number = raw as? NSNumber else { return nil }
        if String(cString: number.objCType) == "c" { return nil }
        return number.doubleValue
    }
}

/// Maps the value of a Prometheus node-identifying label (`node`, `pod` or `instance`) to an EMQX node name.
///
/// - A value containing `@` is an EMQX node name already (`node` label, `mode=all_nodes_unaggregated`).
/// - Otherwise a trailing `:port` is dropped (`instance`), and the value matches the expected node whose host part
///   (after `@`) equals it or starts with it followed by a dot: pod `emqx-ee-0` and instance
///   `emqx-ee-0.emqx-ee-headless.default.svc:18083` both match `emqx@emqx-ee-0.emqx-ee-headless.default.svc.cluster.local`;
///   instance `10.0.3.7:18083` matches the replicant `emqx@10.0.3.7`. `emqx-ee-1` never matches `emqx-ee-10.…`.
/// - With no expected nodes the value itself is the name.
public enum PrometheusNodeIdentity {
    /// The expected node `value` identifies, `nil` when none does (or, without expected nodes, the value itself).
    public static func nodeName(forLabelValue value: String, expected: [String]) -> String? {
        if expected.isEmpty { return value }
        if value.contains("@") { return expected.contains(value) ? value : nil }
        let host = stripPort(value)
        guard !host.isEmpty else { return nil }
        let matches = expected.filter { name in
            let hostPart = name.split(separator: "@", maxSplits: 1).last.map(String.init) ?? name
            return hostPart == host || hostPart.hasPrefix(host + ".") || host.hasPrefix(hostPart + ".")
        }
        return matches.count == 1 ? matches[0] : nil
    }

    /// `host:port` → `host`, `[::1]:9090` → `::1`; a bare IPv6 address or name is returned unchanged.
    static func stripPort(_ value: String) -> String {
        if value.hasPrefix("["), let close = value.firstIndex(of: "]") {
            return String(value[value.index(after: value.startIndex)..<close])
        }
        let colons = value.filter { $0 == ":" }.count
        if colons == 1, let colon = value.lastIndex(of: ":") { return String(value[..<colon]) }
        return value
    }
}
