/// The type a `# TYPE` line declares for a metric family.
///
/// Families that no `# TYPE` line declares are ``untyped``; OpenMetrics' `unknown` is read as ``untyped`` too.
public enum MetricType: String, Sendable, Hashable, Codable, CaseIterable {
    case counter
    case gauge
    case histogram
    case gaugeHistogram = "gaugehistogram"
    case summary
    case info
    case stateSet = "stateset"
    case untyped

    /// Reads the type word of a `# TYPE` line (`counter`, `gauge`, `histogram`, `summary`, `untyped`, and OpenMetrics'
    /// `unknown`, `info`, `stateset`, `gaugehistogram`).
    public init?(typeWord: String) {
        guard let known = Self.typeWords.first(where: { $0.word.description == typeWord }) else { return nil }
        self = known.type
    }

    /// Every word a `# TYPE` line may carry, the most common first (the scanner compares them with the line's bytes).
    static let typeWords: [(word: StaticString, type: MetricType)] = [
        ("gauge", .gauge), ("counter", .counter), ("untyped", .untyped), ("unknown", .untyped),
        ("histogram", .histogram), ("summary", .summary), ("info", .info), ("stateset", .stateSet),
        ("gaugehistogram", .gaugeHistogram),
    ]

    /// Sample-name suffixes that belong to a family of this type (`foo_bucket` belongs to histogram `foo`).
    ///
    /// A gauge or untyped family owns only samples named exactly like it, which is why EMQX's gauge
    /// `emqx_connections_count` is never mistaken for part of a summary.
    public var sampleSuffixes: [String] {
        switch self {
        case .counter: return ["_total", "_created"]
        case .histogram: return ["_bucket", "_count", "_sum", "_created"]
        case .gaugeHistogram: return ["_bucket", "_gcount", "_gsum"]
        case .summary: return ["_count", "_sum", "_created"]
        case .info: return ["_info"]
        case .gauge, .stateSet, .untyped: return []
        }
    }
}
