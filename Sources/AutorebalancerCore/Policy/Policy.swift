import Foundation

/// A validated policy: global settings plus rules, in file order. Build it with `PolicyLoader.load(text:file:)`.
///
/// The policy owns the evaluation interval, the staleness age and all rule timing; the agent configuration only
/// chooses which policies apply to which clusters (a `PolicyTest` file may override the interval).
public struct Policy: Sendable, Hashable, Codable {
    /// `metadata.name`.
    public var name: String
    /// `metadata.version`, free text (e.g. `"3"` or a date), carried into decision records.
    public var version: String?
    /// How often the agent evaluates the rules (`spec.evaluationInterval`, default 15s).
    public var evaluationInterval: TimeInterval
    /// A node's sample older than this at evaluation time is stale and blocks action (`spec.staleness`, default 60s).
    public var staleness: TimeInterval
    /// `spec.paused`: evaluate and report, never act.
    public var paused: Bool
    public var limits: PolicyLimits
    /// Windows in which rebalances are not created (rules with `bypassMaintenance` excepted).
    public var maintenanceWindows: [MaintenanceWindow]
    public var rules: [Rule]

    public init(
        name: String,
        version: String? = nil,
        evaluationInterval: TimeInterval = Defaults.evaluationInterval,
        staleness: TimeInterval = Defaults.staleness,
        paused: Bool = false,
        limits: PolicyLimits = PolicyLimits(),
        maintenanceWindows: [MaintenanceWindow] = [],
        rules: [Rule]
    ) {
        self.name = name
        self.version = version
        self.evaluationInterval = evaluationInterval
        self.staleness = staleness
        self.paused = paused
        self.limits = limits
        self.maintenanceWindows = maintenanceWindows
        self.rules = rules
    }

    /// `name` or `name@version`, as decision records carry it.
    public var identifier: String { version.map { "\(name)@\($0)" } ?? name }

    /// The rule named `name`, if any.
    public func rule(named name: String) -> Rule? { rules.first { $0.name == name } }

    public enum Defaults {
        public static let evaluationInterval: TimeInterval = 15
        public static let staleness: TimeInterval = 60
    }
}

/// Safety limits per cluster.
public struct PolicyLimits: Sendable, Hashable, Codable {
    /// At most this many rebalances created by the agent per cluster in any 24 hours (`maxRebalancesPerDay`, default 3).
    public var maxRebalancesPerDay: Int
    /// After this many consecutive ineffective outcomes of a rule's rebalances on a cluster, the rule stops acting
    /// there and alerts until a person resets it (`maxConsecutiveIneffective`, default 2).
    public var maxConsecutiveIneffective: Int

    public init(maxRebalancesPerDay: Int = 3, maxConsecutiveIneffective: Int = 2) {
        self.maxRebalancesPerDay = maxRebalancesPerDay
        self.maxConsecutiveIneffective = maxConsecutiveIneffective
    }
}

/// A recurring window (UTC) in which no rebalance is created: `start`–`end` on the given weekdays. A window whose
/// end is not after its start spans midnight (it belongs to the day it starts on).
public struct MaintenanceWindow: Sendable, Hashable, Codable {
    public var name: String?
    /// ISO weekdays 1 (Monday) … 7 (Sunday); empty means every day.
    public var weekdays: Set<Int>
    /// Minutes after midnight UTC.
    public var startMinute: Int
    public var endMinute: Int

    public init(name: String? = nil, weekdays: Set<Int> = [], startMinute: Int, endMinute: Int) {
        self.name = name
        self.weekdays = weekdays
        self.startMinute = startMinute
        self.endMinute = endMinute
    }

    /// Whether `date` falls in the window.
    public func contains(_ date: Date) -> Bool {
        // Beyond ±10¹⁵ s (30 million years) no calendar applies; such a date is in no window (and cannot trap).
        let whole = floor(date.timeIntervalSince1970)
        guard whole.isFinite, abs(whole) < 1e15 else { return false }
        let seconds = Int(whole)
        let day = Int(floor(Double(seconds) / 86400))
        let minute = (seconds - day * 86400) / 60
        // 1970-01-01 was a Thursday (ISO 4).
        func weekday(_ day: Int) -> Int { ((day % 7 + 7) % 7 + 3) % 7 + 1 }
        func dayMatches(_ day: Int) -> Bool { weekdays.isEmpty || weekdays.contains(weekday(day)) }
        if startMinute < endMinute {
            return minute >= startMinute && minute < endMinute && dayMatches(day)
        }
        // Spans midnight: the late part belongs to today, the early part to yesterday's window.
        if minute >= startMinute { return dayMatches(day) }
        if minute < endMinute { return dayMatches(day - 1) }
        return false
    }

    /// `name (Sat,Sun 02:00-04:00 UTC)`.
    public var summary: String {
        let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        let days = weekdays.isEmpty ? "daily" : weekdays.sorted().map { names[$0 - 1] }.joined(separator: ",")
        func hm(_ m: Int) -> String {
            let h = m / 60
            let mm = m % 60
            return "\(h < 10 ? "0" : "")\(h):\(mm < 10 ? "0" : "")\(mm)"
        }
        let text = "\(days) \(hm(startMinute))-\(hm(endMinute)) UTC"
        return name.map { "\($0) (\(text))" } ?? text
    }
}
