/// One per-node count as the operator's status carries it, and the rule that says what its absence means.
///
/// The operator's Go types mark the counts `omitempty` on v2beta1 (`connections`, `live_connections`, both `int64`,
/// `api/v2beta1/emqx_types_status.go`) and on v2 (`sessions`, `connections`, `api/v2/emqx_types_status.go`): a node
/// with 0 sessions or 0 clients has no key at all, exactly the new node after a scale-out. So an absent count is 0 on
/// a running node of a version that has the field; anywhere else (a stopped node, an unknown version, EMQX older than
/// the field, or v3beta1, which always writes both) absence is unknown. A present value that is negative or
/// implausibly large is unknown too.
public enum StatusCount {
    /// The most clients or sessions one EMQX node is taken to hold; anything above is not a count.
    public static let plausibleMaximum: Int64 = 100_000_000

    /// What a count's reading concluded.
    public enum Verdict: Sendable, Hashable {
        case value(Double)
        /// Absent and read as 0 (the operator omits zero counts).
        case omittedZero
        /// Absent and unknown, with why.
        case absent(because: String)
        /// Present but not a count.
        case implausible(Int64)

        public var number: Double? {
            switch self {
            case .value(let value): value
            case .omittedZero: 0
            case .absent, .implausible: nil
            }
        }
    }

    /// Reads a count. `absentMeansZero` is whether this field's absence on this node means 0 (see the type's rule);
    /// `whyUnknown` is the explanation when it does not.
    public static func read(_ value: Int64?, absentMeansZero: Bool, whyUnknown: @autoclosure () -> String) -> Verdict {
        guard let value else { return absentMeansZero ? .omittedZero : .absent(because: whyUnknown()) }
        guard value >= 0, value <= plausibleMaximum else { return .implausible(value) }
        return .value(Double(value))
    }

    /// `5.8.6` → (5, 8); `5.10.1-rc.1` → (5, 10); `nil` when the text does not start with `major.minor`.
    public static func majorMinor(_ version: String?) -> (major: Int, minor: Int)? {
        guard let version else { return nil }
        let parts = version.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        // At most four digits each: a longer number is no EMQX version (and cannot overflow).
        guard parts.count >= 2, parts[0].count <= 4, let major = Int(parts[0]) else { return nil }
        let minorDigits = parts[1].prefix { $0.isASCII && $0.isNumber }
        guard minorDigits.count <= 4, let minor = Int(minorDigits) else { return nil }
        return (major, minor)
    }

    /// Groups per-node verdicts of one field into the few lines `run --once` prints: which nodes were read as 0 and
    /// why, which are unknown and why, which were implausible.
    public struct Notes: Sendable {
        private var zero: [String] = []
        private var unknown: [String: [String]] = [:]
        private var implausible: [String] = []
        private var unknownOrder: [String] = []

        public init() {}

        public mutating func record(_ verdict: Verdict, node: String) {
            switch verdict {
            case .value: break
            case .omittedZero: zero.append(node)
            case .absent(let because):
                if unknown[because] == nil { unknownOrder.append(because) }
                unknown[because, default: []].append(node)
            case .implausible(let value): implausible.append("\(node) (\(value))")
            }
        }

        /// e.g. `live_connections absent on emqx@10.0.0.7 (running, EMQX ≥ 5.1): read as 0, the operator omits zero counts`.
        public func lines(field: String, zeroCondition: String) -> [String] {
            var lines: [String] = []
            if !zero.isEmpty {
                lines.append(
                    "\(field) absent on \(Self.list(zero)) (\(zeroCondition)): read as 0, the operator omits zero counts"
                )
            }
            for because in unknownOrder {
                lines.append("\(field) absent on \(Self.list(unknown[because] ?? [])): unknown (\(because))")
            }
            if !implausible.isEmpty {
                lines.append("\(field) implausible on \(Self.list(implausible)): unknown")
            }
            return lines
        }

        static func list(_ names: [String]) -> String {
            names.count <= 3
                ? names.joined(separator: ", ")
                : names.prefix(3).joined(separator: ", ") + " and \(names.count - 3) more"
        }
    }
}
