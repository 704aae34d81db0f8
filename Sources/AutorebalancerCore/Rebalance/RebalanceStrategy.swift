/// `spec.rebalanceStrategy` of an `apps.emqx.io/v2beta1` `Rebalance`, field for field, with the connection evict
/// rate as `Rate`: a number in a `Rebalance` (``RebalanceStrategy``), possibly `auto` in a rule
/// (``StrategyTemplate``, resolved to a number per decision). One list of fields serves both.
///
/// Only `connEvictRate` is required (minimum 1). The CRD defaults the rest (sess 500, waits 60 s, abs 1000,
/// rel `"1.1"`); `nil` leaves a field out so the CRD default applies. Relative thresholds are **strings** holding a
/// float, as the CRD declares them.
public struct RebalanceStrategyFields<Rate: Sendable & Hashable & Codable>: Sendable, Hashable, Codable {
    public var connEvictRate: Rate
    public var sessEvictRate: Int?
    public var waitTakeover: Int?
    public var waitHealthCheck: Int?
    public var absConnThreshold: Int?
    public var absSessThreshold: Int?
    public var relConnThreshold: String?
    public var relSessThreshold: String?

    public init(
        connEvictRate: Rate,
        sessEvictRate: Int? = nil,
        waitTakeover: Int? = nil,
        waitHealthCheck: Int? = nil,
        absConnThreshold: Int? = nil,
        absSessThreshold: Int? = nil,
        relConnThreshold: String? = nil,
        relSessThreshold: String? = nil
    ) {
        self.connEvictRate = connEvictRate
        self.sessEvictRate = sessEvictRate
        self.waitTakeover = waitTakeover
        self.waitHealthCheck = waitHealthCheck
        self.absConnThreshold = absConnThreshold
        self.absSessThreshold = absSessThreshold
        self.relConnThreshold = relConnThreshold
        self.relSessThreshold = relSessThreshold
    }

    /// The same fields with another rate.
    public func withConnEvictRate<Other>(_ rate: Other) -> RebalanceStrategyFields<Other> {
        RebalanceStrategyFields<Other>(
            connEvictRate: rate,
            sessEvictRate: sessEvictRate,
            waitTakeover: waitTakeover,
            waitHealthCheck: waitHealthCheck,
            absConnThreshold: absConnThreshold,
            absSessThreshold: absSessThreshold,
            relConnThreshold: relConnThreshold,
            relSessThreshold: relSessThreshold
        )
    }

    public typealias Defaults = RebalanceStrategyDefaults

    /// The connection thresholds EMQX will use, with CRD defaults applied.
    public var effectiveConnectionThreshold: BalanceThreshold {
        BalanceThreshold(
            absolute: Double(absConnThreshold ?? Defaults.absConnThreshold),
            relative: Double(relConnThreshold ?? Defaults.relConnThreshold) ?? 1.1
        )
    }

    /// The session thresholds EMQX will use, with CRD defaults applied.
    public var effectiveSessionThreshold: BalanceThreshold {
        BalanceThreshold(
            absolute: Double(absSessThreshold ?? Defaults.absSessThreshold),
            relative: Double(relSessThreshold ?? Defaults.relSessThreshold) ?? 1.1
        )
    }
}

/// `spec.rebalanceStrategy` as a created `Rebalance` carries it.
public typealias RebalanceStrategy = RebalanceStrategyFields<Int>

/// The CRD's defaults for omitted fields.
public enum RebalanceStrategyDefaults {
    public static let sessEvictRate = 500
    public static let waitTakeover = 60
    public static let waitHealthCheck = 60
    public static let absConnThreshold = 1000
    public static let absSessThreshold = 1000
    public static let relConnThreshold = "1.1"
    public static let relSessThreshold = "1.1"
}

/// `spec` of an `apps.emqx.io/v2beta1` `Rebalance`. Immutable once created.
public struct RebalanceSpec: Sendable, Hashable, Codable {
    /// `EMQX` (EMQX 5) or `EmqxEnterprise` (EMQX 4.4). Always set explicitly: the CRD default is `EMQX`.
    public var instanceKind: String
    public var instanceName: String
    public var rebalanceStrategy: RebalanceStrategy

    public init(instanceKind: InstanceKind, instanceName: String, rebalanceStrategy: RebalanceStrategy) {
        self.instanceKind = instanceKind.rawValue
        self.instanceName = instanceName
        self.rebalanceStrategy = rebalanceStrategy
    }
}
