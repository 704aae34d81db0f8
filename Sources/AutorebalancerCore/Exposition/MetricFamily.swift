/// A metric family: the samples a `# TYPE` (or `# HELP`) header announces, or, for samples no header announces, the
/// samples of one name.
public struct MetricFamily: Sendable, Hashable, Codable {
    /// The family name from the header (`emqx_connections_count`), or the sample name for an undeclared family.
    public var name: String
    /// ``MetricType/untyped`` when no `# TYPE` line declared the family.
    public var type: MetricType
    /// The `# HELP` text with escapes resolved; `""` for an empty HELP, `nil` when there was no HELP line.
    public var help: String?
    /// Samples in document order. May be empty: EMQX writes headers of families it has no samples for.
    public var samples: [MetricSample]

    public init(name: String, type: MetricType = .untyped, help: String? = nil, samples: [MetricSample] = []) {
        self.name = name
        self.type = type
        self.help = help
        self.samples = samples
    }
}
