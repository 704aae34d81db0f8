/// `spec.rebalanceStrategy` of an `apps.emqx.io/v2beta1` `Rebalance`, field for field.
///
/// Only `connEvictRate` is required (minimum 1). The CRD defaults the rest (sess 500, waits 60 s, abs 1000,
/// rel `"1.1"`); `nil` leaves a field out so the CRD default applies. Relative thresholds are **strings** holding a
/// float, as the CRD declares them.
public struct RebalanceStrategy: Sendable, Hashable, Codable {
    public var connEvictRate: Int
    public var sessEvictRate: Int?
    public var waitTakeover: Int?
    public var waitHealthCheck: Int?
    public var absConnThreshold: Int?
    public var absSessThreshold: Int?
    public var relConnThreshold: String?
    public var relSessThreshold: String?

    public init(
        connEvictRate: Int,
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

    /// The CRD's defaults for omitted fields.
    public enum Defaults {
        public static let sessEvictRate = 500
        public static let waitTakeover = 60
        public static let waitHealthCheck = 60
        public static let absConnThreshold = 1000
        public static let absSessThreshold = 1000
        public static let relConnThreshold = "1.1"
        public static let relSessThreshold = "1.1"
    }

    /// The connection thresholds EMQX will use, with CRD defaults applied.
    public var effectiveConnectionThreshold: BalanceThreshold {
        Self.effectiveConnectionThreshold(absolute: absConnThreshold, relative: relConnThreshold)
    }

    /// The session thresholds EMQX will use, with CRD defaults applied.
    public var effectiveSessionThreshold: BalanceThreshold {
        Self.effectiveSessionThreshold(absolute: absSessThreshold, relative: relSessThreshold)
    }

    /// The connection thresholds of these fields, the CRD's defaults for what is omitted.
    public static func effectiveConnectionThreshold(absolute: Int?, relative: String?) -> BalanceThreshold {
        BalanceThreshold(absolute: Double(absolute ?? Defaults.absConnThreshold), relative: Double(relative ?? Defaults.relConnThreshold) ?? 1.1)
    }

    /// The session thresholds of these fields, the CRD's defaults for what is omitted.
    public static func effectiveSessionThreshold(absolute: Int?, relative: String?) -> BalanceThreshold {
        BalanceThreshold(absolute: Double(absolute ?? Defaults.absSessThreshold), relative: Double(relative ?? Defaults.relSessThreshold) ?? 1.1)
    }
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
