import Foundation
import Yams

/// A value read from a user's file, with where it was written.
public struct Located<Value: Sendable & Hashable>: Sendable, Hashable {
    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

/// Layer 1: an `autorebalancer.emqx.io/v1alpha1` `Policy` exactly as written, read leniently from YAML.
///
/// Reading reports YAML syntax, unknown keys (with a "did you mean"), wrong types and unreadable durations, and keeps
/// every readable value with its position; it checks no meaning (ranges, names, required fields, hysteresis). That is
/// layer 2, `PolicyValidator`, which builds the domain model (`Policy`).
public struct PolicyDocument: Sendable, Hashable {
    public var location: SourceLocation
    public var apiVersion: Located<String>?
    public var kind: Located<String>?
    public var metadata: Metadata?
    public var spec: Spec?

    public struct Metadata: Sendable, Hashable {
        public var location: SourceLocation
        public var name: Located<String>?
        public var version: Located<String>?
    }

    public struct Spec: Sendable, Hashable {
        public var location: SourceLocation
        public var evaluationInterval: Located<TimeInterval>?
        public var staleness: Located<TimeInterval>?
        public var paused: Located<Bool>?
        public var maxRebalancesPerDay: Located<Int>?
        public var maxConsecutiveIneffective: Located<Int>?
        public var maintenanceWindows: [Window] = []
        public var rules: Located<[RuleSpec]>?
        /// `rules:` was written but is not a list (already reported).
        public var rulesUnreadable = false
    }

    public struct Window: Sendable, Hashable {
        public var location: SourceLocation
        public var name: Located<String>?
        public var days: [Located<String>] = []
        public var start: Located<String>?
        public var end: Located<String>?
    }

    public struct RuleSpec: Sendable, Hashable {
        public var location: SourceLocation
        public var name: Located<String>?
        public var description: Located<String>?
        public var trigger: TriggerSpec?
        /// Where `imbalance:` is, when present.
        public var imbalance: SourceLocation?
        public var connections: ThresholdSpec?
        public var sessions: ThresholdSpec?
        public var forDuration: Located<TimeInterval>?
        public var cooldown: Located<TimeInterval>?
        public var minConnections: Located<Int>?
        public var minNodes: Located<Int>?
        public var action: Located<String>?
        public var priority: Located<Int>?
        public var bypassMaintenance: Located<Bool>?
        public var strategy: StrategySpec?
        public var labels: [String: String]?
        public var annotations: [String: String]?
    }

    public struct TriggerSpec: Sendable, Hashable {
        public var location: SourceLocation
        /// `false` for the short form `trigger: skew`.
        public var isMapping: Bool
        public var type: Located<String>?
        public var window: Located<TimeInterval>?
        public var nearZeroConnections: Located<Double>?
    }

    public struct ThresholdSpec: Sendable, Hashable {
        public var location: SourceLocation
        public var abs: Located<Double>?
        public var rel: Located<Double>?
        /// The keys written, readable or not (an unreadable value is already reported; it is not "missing").
        public var written: Set<String> = []
    }

    public struct StrategySpec: Sendable, Hashable {
        public var location: SourceLocation
        /// `auto`, or the integer as written.
        public var connEvictRate: Located<EvictRateSpec>?
        public var autoEvictRate: AutoEvictRateSpec?
        public var sessEvictRate: Located<Int>?
        public var waitTakeover: Located<Int>?
        public var waitHealthCheck: Located<Int>?
        public var absConnThreshold: Located<Int>?
        public var absSessThreshold: Located<Int>?
        /// The number and its text as written (the CRD wants the string).
        public var relConnThreshold: Located<RelativeText>?
        public var relSessThreshold: Located<RelativeText>?
    }

    public enum EvictRateSpec: Sendable, Hashable {
        case auto
        case fixed(Int)
    }

    public struct AutoEvictRateSpec: Sendable, Hashable {
        public var location: SourceLocation
        public var targetDuration: Located<TimeInterval>?
        public var min: Located<Int>?
        public var max: Located<Int>?
    }

    public struct RelativeText: Sendable, Hashable {
        public var value: Double
        public var text: String
    }

    /// The documented maxima of the fields that have one (docs/policies.md); every other duration is at most
    /// ``DurationText/maximum`` and every other integer at most ``YAMLReader/maximumInteger``.
    public enum Limits {
        /// `spec.evaluationInterval`, `spec.staleness`, `autoEvictRate.targetDuration`: one day.
        public static let maximumInterval: TimeInterval = 86_400
        /// `spec.limits.maxRebalancesPerDay`, `spec.limits.maxConsecutiveIneffective`.
        public static let maximumLimit = 1_000
        /// `minNodes`: no EMQX cluster has more nodes.
        public static let maximumNodes = 10_000
    }

    // MARK: Reading

    static let topKeys = ["apiVersion", "kind", "metadata", "spec"]
    static let metadataKeys = ["name", "version", "description", "labels", "annotations"]
    static let specKeys = ["evaluationInterval", "staleness", "paused", "limits", "maintenanceWindows", "rules"]
    static let limitKeys = ["maxRebalancesPerDay", "maxConsecutiveIneffective"]
    static let windowKeys = ["name", "days", "start", "end"]
    static let ruleKeys = [
        "name", "description", "trigger", "imbalance", "for", "cooldown", "minConnections", "minNodes", "action",
        "rebalanceStrategy", "labels", "annotations", "priority", "bypassMaintenance",
    ]
    static let triggerKeys = ["type", "window", "nearZeroConnections"]
    static let imbalanceKeys = ["connections", "sessions"]
    static let thresholdKeys = ["abs", "rel"]
    static let strategyKeys = [
        "connEvictRate", "autoEvictRate", "sessEvictRate", "waitTakeover", "waitHealthCheck", "absConnThreshold",
        "absSessThreshold", "relConnThreshold", "relSessThreshold",
    ]
    static let autoKeys = ["targetDuration", "min", "max"]

    /// Reads a policy document leniently; problems of form (not meaning) are reported through `reader`.
    public static func read(text: String, reader r: YAMLReader) -> PolicyDocument? {
        guard let root = r.parse(text), let top = r.mapping(root, "document") else { return nil }
        r.checkKeys(top, allowed: topKeys, "")
        func located<T>(_ node: Node?, _ value: T?) -> Located<T>? {
            guard let value, let node else { return nil }
            return Located(value, at: r.location(of: node))
        }
        func string(_ m: Node.Mapping, _ key: String, _ path: String) -> Located<String>? {
            let node = r.value(m, key)
            return located(node, r.string(node, path))
        }
        func int(_ m: Node.Mapping, _ key: String, _ path: String) -> Located<Int>? {
            let node = r.value(m, key)
            return located(node, r.int(node, path))
        }
        func boundedInt(_ m: Node.Mapping, _ key: String, _ path: String, _ maximum: Int) -> Located<Int>? {
            let node = r.value(m, key)
            return located(node, r.int(node, path, maximum: maximum))
        }
        func double(_ m: Node.Mapping, _ key: String, _ path: String) -> Located<Double>? {
            let node = r.value(m, key)
            return located(node, r.double(node, path))
        }
        func bool(_ m: Node.Mapping, _ key: String, _ path: String) -> Located<Bool>? {
            let node = r.value(m, key)
            return located(node, r.bool(node, path))
        }
        func duration(_ m: Node.Mapping, _ key: String, _ path: String) -> Located<TimeInterval>? {
            let node = r.value(m, key)
            return located(node, r.duration(node, path))
        }
        func shortDuration(_ m: Node.Mapping, _ key: String, _ path: String) -> Located<TimeInterval>? {
            let node = r.value(m, key)
            return located(node, r.duration(node, path, maximum: Limits.maximumInterval))
        }

        var document = PolicyDocument(location: r.location(of: root))
        document.apiVersion = string(top, "apiVersion", "apiVersion")
        document.kind = string(top, "kind", "kind")
        if let node = r.value(top, "metadata"), let m = r.mapping(node, "metadata") {
            r.checkKeys(m, allowed: metadataKeys, "metadata")
            document.metadata = Metadata(
                location: r.location(of: node),
                name: string(m, "name", "metadata.name"),
                version: string(m, "version", "metadata.version")
            )
            _ = r.string(r.value(m, "description"), "metadata.description")
            _ = r.stringMap(r.value(m, "labels"), "metadata.labels")
            _ = r.stringMap(r.value(m, "annotations"), "metadata.annotations")
        }
        guard let specNode = r.value(top, "spec"), let spec = r.mapping(specNode, "spec") else { return document }
        r.checkKeys(spec, allowed: specKeys, "spec")
        var s = Spec(location: r.location(of: specNode))
        s.evaluationInterval = shortDuration(spec, "evaluationInterval", "spec.evaluationInterval")
        s.staleness = shortDuration(spec, "staleness", "spec.staleness")
        s.paused = bool(spec, "paused", "spec.paused")
        if let limits = r.mapping(r.value(spec, "limits"), "spec.limits") {
            r.checkKeys(limits, allowed: limitKeys, "spec.limits")
            s.maxRebalancesPerDay = boundedInt(
                limits,
                "maxRebalancesPerDay",
                "spec.limits.maxRebalancesPerDay",
                Limits.maximumLimit
            )
            s.maxConsecutiveIneffective = boundedInt(
                limits,
                "maxConsecutiveIneffective",
                "spec.limits.maxConsecutiveIneffective",
                Limits.maximumLimit
            )
        }
        for (index, node) in (r.sequence(r.value(spec, "maintenanceWindows"), "spec.maintenanceWindows") ?? [])
            .enumerated()
        {
            let path = "spec.maintenanceWindows[\(index)]"
            guard let m = r.mapping(node, path) else { continue }
            r.checkKeys(m, allowed: windowKeys, path)
            var window = Window(location: r.location(of: node))
            window.name = string(m, "name", "\(path).name")
            for dayNode in r.sequence(r.value(m, "days"), "\(path).days") ?? [] {
                if let day = located(dayNode, r.string(dayNode, "\(path).days")) { window.days.append(day) }
            }
            window.start = string(m, "start", "\(path).start")
            window.end = string(m, "end", "\(path).end")
            s.maintenanceWindows.append(window)
        }
        s.rulesUnreadable = r.value(spec, "rules") != nil && r.value(spec, "rules")?.sequence == nil
        if let rulesNode = r.value(spec, "rules"), let list = r.sequence(rulesNode, "spec.rules") {
            var rules: [RuleSpec] = []
            for (index, node) in list.enumerated() {
                if let rule = readRule(
                    node,
                    "spec.rules[\(index)]",
                    r,
                    string: string,
                    int: int,
                    double: double,
                    bool: bool,
                    duration: duration
                ) {
                    rules.append(rule)
                }
            }
            s.rules = Located(rules, at: r.location(of: rulesNode))
        }
        document.spec = s
        return document
    }

    typealias Reader<T: Sendable & Hashable> = (Node.Mapping, String, String) -> Located<T>?

    static func readRule(
        _ node: Node,
        _ path: String,
        _ r: YAMLReader,
        string: Reader<String>,
        int: Reader<Int>,
        double: Reader<Double>,
        bool: Reader<Bool>,
        duration: Reader<TimeInterval>
    ) -> RuleSpec? {
        guard let m = r.mapping(node, path) else { return nil }
        r.checkKeys(m, allowed: ruleKeys, path)
        var rule = RuleSpec(location: r.location(of: node))
        rule.name = string(m, "name", "\(path).name")
        let label = rule.name.map { "rule \"\($0.value)\"" } ?? "rule \"rule-\(path.filter(\.isNumber))\""
        rule.description = string(m, "description", "\(label): description")

        if let triggerNode = r.value(m, "trigger") {
            if case .mapping(let tm) = triggerNode {
                r.checkKeys(tm, allowed: triggerKeys, "\(label): trigger")
                rule.trigger = TriggerSpec(
                    location: r.location(of: triggerNode),
                    isMapping: true,
                    type: string(tm, "type", "\(label): trigger"),
                    window: duration(tm, "window", "\(label): trigger.window"),
                    nearZeroConnections: double(tm, "nearZeroConnections", "\(label): trigger.nearZeroConnections")
                )
            } else if let text = r.string(triggerNode, "\(label): trigger") {
                let at = r.location(of: triggerNode)
                rule.trigger = TriggerSpec(location: at, isMapping: false, type: Located(text, at: at))
            }
        }
        if let imbalanceNode = r.value(m, "imbalance"), let im = r.mapping(imbalanceNode, "\(label): imbalance") {
            r.checkKeys(im, allowed: imbalanceKeys, "\(label): imbalance")
            rule.imbalance = r.location(of: imbalanceNode)
            func threshold(_ key: String) -> ThresholdSpec? {
                let p = "\(label): imbalance.\(key)"
                guard let tn = r.value(im, key), let tm = r.mapping(tn, p) else { return nil }
                r.checkKeys(tm, allowed: thresholdKeys, p)
                return ThresholdSpec(
                    location: r.location(of: tn),
                    abs: double(tm, "abs", "\(p).abs"),
                    rel: double(tm, "rel", "\(p).rel"),
                    written: Set(["abs", "rel"].filter { r.value(tm, $0) != nil })
                )
            }
            rule.connections = threshold("connections")
            rule.sessions = threshold("sessions")
        }
        rule.forDuration = duration(m, "for", "\(label): for")
        rule.cooldown = duration(m, "cooldown", "\(label): cooldown")
        rule.minConnections = int(m, "minConnections", "\(label): minConnections")
        let minNodesNode = r.value(m, "minNodes")
        rule.minNodes = r.int(minNodesNode, "\(label): minNodes", maximum: Limits.maximumNodes).map {
            Located($0, at: r.location(of: minNodesNode))
        }
        rule.priority = int(m, "priority", "\(label): priority")
        rule.action = string(m, "action", "\(label): action")
        rule.bypassMaintenance = bool(m, "bypassMaintenance", "\(label): bypassMaintenance")
        rule.labels = r.stringMap(r.value(m, "labels"), "\(label): labels")
        rule.annotations = r.stringMap(r.value(m, "annotations"), "\(label): annotations")

        let sp = "\(label): rebalanceStrategy"
        if let strategyNode = r.value(m, "rebalanceStrategy"), let sm = r.mapping(strategyNode, sp) {
            r.checkKeys(sm, allowed: strategyKeys, sp)
            var strategy = StrategySpec(location: r.location(of: strategyNode))
            if let rateNode = r.value(sm, "connEvictRate") {
                let at = r.location(of: rateNode)
                if case .scalar(let scalar) = rateNode, scalar.string == "auto" {
                    strategy.connEvictRate = Located(.auto, at: at)
                } else if case .scalar(let scalar) = rateNode, YAMLReader.isDigits(scalar.string) {
                    if let value = r.int(rateNode, "\(sp).connEvictRate") {
                        strategy.connEvictRate = Located(.fixed(value), at: at)
                    }
                } else {
                    r.error(
                        "\(sp).connEvictRate: expected an integer ≥ 1 or \"auto\", got \(YAMLReader.describe(rateNode))",
                        at: rateNode
                    )
                }
            }
            if let autoNode = r.value(sm, "autoEvictRate"), let am = r.mapping(autoNode, "\(sp).autoEvictRate") {
                r.checkKeys(am, allowed: autoKeys, "\(sp).autoEvictRate")
                strategy.autoEvictRate = AutoEvictRateSpec(
                    location: r.location(of: autoNode),
                    targetDuration: r.duration(
                        r.value(am, "targetDuration"),
                        "\(sp).autoEvictRate.targetDuration",
                        maximum: Limits.maximumInterval
                    )
                    .map { Located($0, at: r.location(of: r.value(am, "targetDuration"))) },
                    min: int(am, "min", "\(sp).autoEvictRate.min"),
                    max: int(am, "max", "\(sp).autoEvictRate.max")
                )
            }
            strategy.sessEvictRate = int(sm, "sessEvictRate", "\(sp).sessEvictRate")
            strategy.waitTakeover = int(sm, "waitTakeover", "\(sp).waitTakeover")
            strategy.waitHealthCheck = int(sm, "waitHealthCheck", "\(sp).waitHealthCheck")
            strategy.absConnThreshold = int(sm, "absConnThreshold", "\(sp).absConnThreshold")
            strategy.absSessThreshold = int(sm, "absSessThreshold", "\(sp).absSessThreshold")
            func relative(_ key: String) -> Located<RelativeText>? {
                guard let valueNode = r.value(sm, key), let value = r.double(valueNode, "\(sp).\(key)") else {
                    return nil
                }
                return Located(
                    RelativeText(value: value, text: valueNode.string ?? BalanceEvaluation.format(value)),
                    at: r.location(of: valueNode)
                )
            }
            strategy.relConnThreshold = relative("relConnThreshold")
            strategy.relSessThreshold = relative("relSessThreshold")
            rule.strategy = strategy
        }
        return rule
    }
}
