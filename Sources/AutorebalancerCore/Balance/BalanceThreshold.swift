/// EMQX's pair of balance thresholds for one quantity: the cluster is balanced when
/// `avg(donors) <= avg(recipients) + absolute` **or** `avg(donors) <= avg(recipients) * relative`.
public struct BalanceThreshold: Sendable, Hashable, Codable {
    public var absolute: Double
    public var relative: Double

    public init(absolute: Double, relative: Double) {
        self.absolute = absolute
        self.relative = relative
    }

    /// EMQX's defaults: `abs_conn_threshold` / `abs_sess_threshold` 1000, `rel_*_threshold` 1.1.
    public static let emqxDefault = BalanceThreshold(absolute: 1000, relative: 1.1)
}

/// The quantity a balance evaluation is about.
public enum BalanceQuantity: String, Sendable, Hashable, Codable {
    case connections
    case sessions
}
