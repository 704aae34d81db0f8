/// One label of a sample, as written (escapes resolved).
public struct MetricLabel: Sendable, Hashable, Codable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One sample line: `name{labels} value [timestamp]`.
///
/// Equality treats every NaN value as equal to every other NaN, so parsed documents can be compared.
public struct MetricSample: Sendable, Hashable, Codable {
    /// The sample's own name, e.g. `http_request_duration_seconds_bucket` inside family `http_request_duration_seconds`.
    public var name: String
    /// Labels in the order they were written.
    public var labels: [MetricLabel]
    public var value: Double
    /// The optional timestamp, integer milliseconds since the Unix epoch, as written.
    public var timestamp: Int64?

    public init(name: String, labels: [MetricLabel] = [], value: Double, timestamp: Int64? = nil) {
        self.name = name
        self.labels = labels
        self.value = value
        self.timestamp = timestamp
    }

    /// The value of the label called `name`, or `nil` when the sample has no such label.
    public func label(_ name: String) -> String? {
        for label in labels where label.name == name { return label.value }
        return nil
    }

    public static func == (lhs: MetricSample, rhs: MetricSample) -> Bool {
        lhs.name == rhs.name && lhs.labels == rhs.labels && lhs.timestamp == rhs.timestamp
            && (lhs.value == rhs.value || (lhs.value.isNaN && rhs.value.isNaN))
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(labels)
        hasher.combine(timestamp)
        if value.isNaN { hasher.combine(Double.nan.bitPattern) } else { hasher.combine(value) }
    }
}
