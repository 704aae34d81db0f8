/// A parsed Prometheus text exposition.
public struct ExpositionDocument: Sendable, Hashable {
    /// Families in order of first appearance.
    public var families: [MetricFamily]
    /// Lines the lenient parser skipped, each with its line, column and reason. Always empty in strict mode.
    public var skipped: [ExpositionError]

    private var index: [String: Int]

    public init(families: [MetricFamily], skipped: [ExpositionError] = []) {
        self.families = families
        self.skipped = skipped
        var index: [String: Int] = [:]
        index.reserveCapacity(families.count)
        for (position, family) in families.enumerated() where index[family.name] == nil {
            index[family.name] = position
        }
        self.index = index
    }

    /// The number of samples in all families.
    public var sampleCount: Int { families.reduce(0) { $0 + $1.samples.count } }

    /// The family called `name` (the header name, e.g. `emqx_client_connected`), or `nil` when the document has none.
    public func family(named name: String) -> MetricFamily? {
        guard let position = index[name], position < families.count, families[position].name == name else {
            return families.first { $0.name == name }
        }
        return families[position]
    }

    public static func == (lhs: ExpositionDocument, rhs: ExpositionDocument) -> Bool {
        lhs.families == rhs.families && lhs.skipped == rhs.skipped
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(families)
        hasher.combine(skipped)
    }
}
