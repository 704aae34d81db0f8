import Foundation

/// Layer 2: checks the meaning of a `PolicyDocument` and builds the domain model (`Policy`, `Rule`, …).
///
/// Reports required fields, unsupported versions, DNS names, ranges (`rel` > 1.0, `connEvictRate` ≥ 1, …), unknown
/// enum values with a "did you mean", duplicate rule names, empty rule lists, and warnings (hysteresis, trigger windows
/// shorter than `for`, staleness shorter than the interval).
public struct PolicyValidator {
    public let file: String
    public private(set) var diagnostics: [Diagnostic] = []

    static let weekdayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    public init(file: String) {
        self.file = file
    }

    mutating func error(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(.error, at: location, message))
    }

    mutating func warning(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(.warning, at: location, message))
    }

    mutating func minimum(_ value: Located<Int>?, _ minimum: Int, _ path: String) -> Int? {
        guard let value else { return nil }
        guard value.value >= minimum else {
            error("\(path): must be at least \(minimum), got \(value.value)", at: value.location)
            return nil
        }
        return value.value
    }

    mutating func positive(_ value: Located<TimeInterval>?, _ path: String) -> TimeInterval? {
        guard let value else { return nil }
        guard value.value > 0 else {
            error("\(path): must be longer than 0s", at: value.location)
            return nil
        }
        return value.value
    }

    /// The policy, or `nil` when the document is too broken to build one (errors are in `diagnostics`).
    public mutating func validate(_ document: PolicyDocument) -> Policy? {
        if let version = document.apiVersion {
            if version.value != PolicyLoader.apiVersion {
                error(
                    "apiVersion \"\(version.value)\" is not supported; use \"\(PolicyLoader.apiVersion)\"",
                    at: version.location
                )
            }
        } else {
            error("missing \"apiVersion: \(PolicyLoader.apiVersion)\"", at: document.location)
        }
        if let kind = document.kind {
            if kind.value != PolicyLoader.kind {
                error("kind \"\(kind.value)\" is not \"\(PolicyLoader.kind)\"", at: kind.location)
            }
        } else {
            error("missing \"kind: \(PolicyLoader.kind)\"", at: document.location)
        }

        var name = "policy"
        if let metadata = document.metadata {
            if let n = metadata.name {
                name = n.value
                if !PolicyLoader.isDNSLabel(n.value) {
                    error(
                        "metadata.name: \"\(n.value)\" must be a DNS label (lowercase letters, digits and '-', at most 63 characters)",
                        at: n.location
                    )
                }
            } else {
                error("metadata.name is required", at: metadata.location)
            }
        } else {
            error("missing \"metadata\" (with at least a name)", at: document.location)
        }

        guard let spec = document.spec else {
            error("missing \"spec\"", at: document.location)
            return nil
        }
        var policy = Policy(name: name, version: document.metadata?.version?.value, rules: [])
        if let interval = positive(spec.evaluationInterval, "spec.evaluationInterval") {
            policy.evaluationInterval = interval
        }
        if let staleness = positive(spec.staleness, "spec.staleness") {
            policy.staleness = staleness
            if staleness < policy.evaluationInterval, let at = spec.staleness?.location {
                warning(
                    "spec.staleness (\(DurationText.format(staleness))) is shorter than the evaluation interval (\(DurationText.format(policy.evaluationInterval))): samples may turn stale between evaluations",
                    at: at
                )
            }
        }
        if let paused = spec.paused { policy.paused = paused.value }
        if let n = minimum(spec.maxRebalancesPerDay, 1, "spec.limits.maxRebalancesPerDay") {
            policy.limits.maxRebalancesPerDay = n
        }
        if let n = minimum(spec.maxConsecutiveIneffective, 1, "spec.limits.maxConsecutiveIneffective") {
            policy.limits.maxConsecutiveIneffective = n
        }
        for (index, window) in spec.maintenanceWindows.enumerated() {
            if let valid = validateWindow(window, "spec.maintenanceWindows[\(index)]") {
                policy.maintenanceWindows.append(valid)
            }
        }

        guard let rules = spec.rules else {
            if !spec.rulesUnreadable { error("spec.rules: a policy needs at least one rule", at: spec.location) }
            return policy
        }
        if rules.value.isEmpty {
            error("spec.rules: the rule list is empty; a policy needs at least one rule", at: rules.location)
        }
        var seen: [String: SourceLocation] = [:]
        for (index, ruleSpec) in rules.value.enumerated() {
            guard let rule = validateRule(ruleSpec, "spec.rules[\(index)]", policy: policy) else { continue }
            let at = ruleSpec.name?.location ?? ruleSpec.location
            if let first = seen[rule.name] {
                error("duplicate rule name \"\(rule.name)\" (first defined at \(first.line):\(first.column))", at: at)
                continue
            }
            seen[rule.name] = at
            policy.rules.append(rule)
        }
        return policy
    }

    // MARK: Maintenance windows

    mutating func validateWindow(_ window: PolicyDocument.Window, _ path: String) -> MaintenanceWindow? {
        var ok = true
        var days: Set<Int> = []
        for day in window.days {
            let key = String(day.value.lowercased().prefix(3))
            if day.value.count >= 3, let index = Self.weekdayNames.firstIndex(of: key) {
                days.insert(index + 1)
            } else {
                error(
                    "\(path).days: \"\(day.value)\" is not a weekday; write Mon, Tue, Wed, Thu, Fri, Sat or Sun",
                    at: day.location
                )
                ok = false
            }
        }
        func minute(_ value: Located<String>?, _ key: String, _ v: inout PolicyValidator) -> Int? {
            guard let value else {
                v.error("\(path).\(key) is required (\"HH:MM\", UTC)", at: window.location)
                return nil
            }
            let parts = value.value.split(separator: ":")
            if parts.count == 2, let h = Int(parts[0]), let mm = Int(parts[1]), (0...24).contains(h),
                (0..<60).contains(mm),
                h * 60 + mm <= 1440
            {
                return h * 60 + mm
            }
            v.error(
                "\(path).\(key): \"\(value.value)\" is not a time of day; write \"HH:MM\" (UTC)",
                at: value.location
            )
            return nil
        }
        let start = minute(window.start, "start", &self)
        let end = minute(window.end, "end", &self)
        guard ok, let start, let end else { return nil }
        if start == end {
            error("\(path): start and end are equal; the window would be empty", at: window.location)
            return nil
        }
        return MaintenanceWindow(name: window.name?.value, weekdays: days, startMinute: start, endMinute: end % 1440)
    }

    // MARK: Rules

    mutating func validateRule(_ spec: PolicyDocument.RuleSpec, _ path: String, policy: Policy) -> Rule? {
        let before = diagnostics.filter { $0.severity == .error }.count
        let name: String
        if let n = spec.name {
            name = n.value
            if !PolicyLoader.isDNSLabel(n.value) {
                error(
                    "\(path).name: \"\(n.value)\" must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)",
                    at: n.location
                )
            }
        } else {
            error("\(path).name is required", at: spec.location)
            name = "rule-\(path.filter(\.isNumber))"
        }
        let label = "rule \"\(name)\""
        var rule = Rule(name: name, trigger: .skew)
        rule.description = spec.description?.value

        if let trigger = spec.trigger {
            if let window = positive(trigger.window, "\(label): trigger.window") { rule.triggerWindow = window }
            if let nearZero = trigger.nearZeroConnections {
                if nearZero.value < 0 {
                    error("\(label): trigger.nearZeroConnections must not be negative", at: nearZero.location)
                }
                rule.nearZeroConnections = nearZero.value
            }
            if let type = trigger.type {
                if let value = Trigger(rawValue: type.value) {
                    rule.trigger = value
                } else {
                    error(
                        "\(label): unknown trigger \"\(type.value)\"\(Suggestion.didYouMean(type.value, among: Trigger.allCases.map(\.rawValue))); expected scaleOut, restart or skew",
                        at: type.location
                    )
                }
            } else if trigger.isMapping {
                error("\(label): trigger.type is required (scaleOut, restart or skew)", at: trigger.location)
            }
        } else {
            error("\(label): trigger is required (scaleOut, restart or skew)", at: spec.location)
        }

        if let imbalance = spec.imbalance {
            rule.connections = validateThreshold(spec.connections, "\(label): imbalance.connections")
            rule.sessions = validateThreshold(spec.sessions, "\(label): imbalance.sessions")
            if spec.connections == nil, spec.sessions == nil {
                error("\(label): imbalance needs connections and/or sessions thresholds", at: imbalance)
            }
        } else {
            error(
                "\(label): imbalance is required (connections and/or sessions, each with abs and rel)",
                at: spec.location
            )
        }

        if let d = spec.forDuration { rule.forDuration = d.value }
        if let d = spec.cooldown { rule.cooldown = d.value }
        if let n = minimum(spec.minConnections, 0, "\(label): minConnections") { rule.minConnections = n }
        if let n = minimum(spec.minNodes, 2, "\(label): minNodes") { rule.minNodes = n }
        if let p = spec.priority { rule.priority = p.value }
        if let action = spec.action {
            if let value = RuleAction(rawValue: action.value) {
                rule.action = value
            } else {
                error(
                    "\(label): unknown action \"\(action.value)\"\(Suggestion.didYouMean(action.value, among: RuleAction.allCases.map(\.rawValue))); expected rebalance or alert",
                    at: action.location
                )
            }
        }
        if let bypass = spec.bypassMaintenance {
            rule.bypassMaintenance = bypass.value
            if bypass.value, rule.trigger == .skew {
                error("\(label): bypassMaintenance applies only to scaleOut and restart rules", at: bypass.location)
            }
        }
        rule.labels = spec.labels ?? [:]
        rule.annotations = spec.annotations ?? [:]
        if let strategy = spec.strategy { rule.strategy = validateStrategy(strategy, "\(label): rebalanceStrategy") }

        if rule.trigger != .skew, let trigger = spec.trigger, rule.triggerWindow < rule.forDuration {
            warning(
                "\(label): trigger.window (\(DurationText.format(rule.triggerWindow))) is shorter than for (\(DurationText.format(rule.forDuration))): the trigger lapses before the rule can fire",
                at: trigger.location
            )
        }
        if rule.action == .rebalance { checkHysteresis(rule, spec, label) }
        let after = diagnostics.filter { $0.severity == .error }.count
        return after == before ? rule : nil
    }

    mutating func validateThreshold(_ spec: PolicyDocument.ThresholdSpec?, _ path: String) -> BalanceThreshold? {
        guard let spec else { return nil }
        if spec.abs == nil, !spec.written.contains("abs") { error("\(path).abs is required", at: spec.location) }
        if spec.rel == nil, !spec.written.contains("rel") { error("\(path).rel is required", at: spec.location) }
        if let abs = spec.abs, abs.value < 0 { error("\(path).abs must not be negative", at: abs.location) }
        if let rel = spec.rel, rel.value <= 1.0 {
            error(
                "\(path).rel must be greater than 1.0 (EMQX rejects a relative threshold of 1.0 or less), got \(BalanceEvaluation.format(rel.value))",
                at: rel.location
            )
        }
        guard let abs = spec.abs?.value, let rel = spec.rel?.value, abs >= 0, rel > 1 else { return nil }
        return BalanceThreshold(absolute: abs, relative: rel)
    }

    mutating func validateStrategy(_ spec: PolicyDocument.StrategySpec, _ path: String) -> StrategyTemplate {
        var s = StrategyTemplate()
        switch spec.connEvictRate?.value {
        case .auto:
            var target: TimeInterval = 300
            var lower = EvictRate.defaultAutoMinimum
            var upper = EvictRate.defaultAutoMaximum
            if let auto = spec.autoEvictRate {
                if let t = positive(auto.targetDuration, "\(path).autoEvictRate.targetDuration") { target = t }
                if let n = minimum(auto.min, 1, "\(path).autoEvictRate.min") { lower = n }
                if let n = minimum(auto.max, 1, "\(path).autoEvictRate.max") { upper = n }
                if upper < lower {
                    error("\(path).autoEvictRate: max (\(upper)) is below min (\(lower))", at: auto.location)
                }
            } else if let at = spec.connEvictRate?.location {
                error(
                    "\(path): connEvictRate auto needs autoEvictRate.targetDuration (how long eviction should take)",
                    at: at
                )
            }
            s.connEvictRate = .auto(targetDuration: target, minimum: lower, maximum: upper)
        case .fixed(let value):
            if value < 1, let at = spec.connEvictRate?.location {
                error("\(path).connEvictRate must be at least 1 (the CRD rejects smaller values), got \(value)", at: at)
            }
            s.connEvictRate = .fixed(value)
            if let auto = spec.autoEvictRate {
                warning("\(path).autoEvictRate is ignored unless connEvictRate is auto", at: auto.location)
            }
        case nil:
            if let auto = spec.autoEvictRate {
                warning("\(path).autoEvictRate is ignored unless connEvictRate is auto", at: auto.location)
            }
        }
        s.sessEvictRate = minimum(spec.sessEvictRate, 1, "\(path).sessEvictRate")
        s.waitTakeover = minimum(spec.waitTakeover, 0, "\(path).waitTakeover")
        s.waitHealthCheck = minimum(spec.waitHealthCheck, 0, "\(path).waitHealthCheck")
        s.absConnThreshold = minimum(spec.absConnThreshold, 0, "\(path).absConnThreshold")
        s.absSessThreshold = minimum(spec.absSessThreshold, 0, "\(path).absSessThreshold")
        for (key, located) in [
            ("relConnThreshold", spec.relConnThreshold), ("relSessThreshold", spec.relSessThreshold),
        ] {
            guard let located else { continue }
            if located.value.value <= 1.0 {
                error(
                    "\(path).\(key) must be greater than 1.0 (EMQX rejects it), got \(BalanceEvaluation.format(located.value.value))",
                    at: located.location
                )
                continue
            }
            if key == "relConnThreshold" {
                s.relConnThreshold = located.value.text
            } else {
                s.relSessThreshold = located.value.text
            }
        }
        return s
    }

    /// Warns when a rule would detect an imbalance its own Rebalance does not fix (EMQX would answer
    /// `nothing_to_balance`, or the cluster would re-fire right after being balanced).
    mutating func checkHysteresis(_ rule: Rule, _ spec: PolicyDocument.RuleSpec, _ label: String) {
        let pairs: [(String, BalanceThreshold?, BalanceThreshold, String, String, SourceLocation?)] = [
            (
                "connections", rule.connections, rule.strategy.effectiveConnectionThreshold, "absConnThreshold",
                "relConnThreshold", spec.connections?.location
            ),
            (
                "sessions", rule.sessions, rule.strategy.effectiveSessionThreshold, "absSessThreshold",
                "relSessThreshold", spec.sessions?.location
            ),
        ]
        for (quantity, detection, fix, absKey, relKey, location) in pairs {
            guard let detection else { continue }
            let ok =
                detection.relative >= fix.relative && detection.absolute >= fix.absolute
                && (detection.relative > fix.relative || detection.absolute > fix.absolute)
            if !ok {
                warning(
                    "\(label): no hysteresis for \(quantity): detection (abs \(BalanceEvaluation.format(detection.absolute)), rel \(BalanceEvaluation.format(detection.relative))) must be at least the strategy's \(absKey) \(BalanceEvaluation.format(fix.absolute)) and \(relKey) \(BalanceEvaluation.format(fix.relative)), one of them strictly larger; otherwise a just-balanced cluster re-fires and EMQX answers nothing_to_balance",
                    at: location ?? spec.imbalance ?? spec.location
                )
            }
        }
    }
}
