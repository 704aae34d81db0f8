import Foundation
import Yams

/// The outcome of loading a policy: the policy when there was no error, and every diagnostic (warnings too).
public struct PolicyLoadResult: Sendable {
    public var policy: Policy?
    public var diagnostics: [Diagnostic]

    public init(policy: Policy?, diagnostics: [Diagnostic]) {
        self.policy = policy
        self.diagnostics = diagnostics
    }
}

/// Loads `kind: Policy` documents: YAML text plus a file name in, a validated `Policy` and positioned diagnostics out.
///
/// The first layer (`YAMLReader`) reads the document leniently and reports syntax, unknown keys and types; this layer
/// validates meaning (ranges, DNS names, duplicates, hysteresis) and builds the domain model. Every problem is
/// collected before the result is returned.
public enum PolicyLoader {
    public static let apiVersion = "autorebalancer.emqx.io/v1alpha1"
    public static let kind = "Policy"

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
    static let weekdayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    /// Loads and validates one policy document.
    /// - Parameters:
    ///   - text: the YAML text.
    ///   - file: the name used in diagnostics (never opened).
    public static func load(text: String, file: String) -> PolicyLoadResult {
        let reader = YAMLReader(file: file)
        guard let root = reader.parse(text) else { return PolicyLoadResult(policy: nil, diagnostics: reader.diagnostics) }
        let policy = read(root, reader)
        let diagnostics = reader.diagnostics
        return PolicyLoadResult(policy: diagnostics.hasErrors ? nil : policy, diagnostics: diagnostics)
    }

    // MARK: Document

    static func read(_ root: Node, _ r: YAMLReader) -> Policy? {
        guard let top = r.mapping(root, "document") else { return nil }
        r.checkKeys(top, allowed: topKeys, "")
        checkHeader(top, root, r, kind: kind)

        var name = "policy"
        var version: String?
        if let metadata = r.mapping(r.value(top, "metadata"), "metadata") {
            r.checkKeys(metadata, allowed: metadataKeys, "metadata")
            if let n = r.string(r.value(metadata, "name"), "metadata.name") {
                name = n
                if !isDNSLabel(n) {
                    r.error("metadata.name: \"\(n)\" must be a DNS label (lowercase letters, digits and '-', at most 63 characters)", at: metadata["name"])
                }
            } else if r.value(metadata, "name") == nil {
                r.error("metadata.name is required", at: r.value(top, "metadata"))
            }
            version = r.string(r.value(metadata, "version"), "metadata.version")
            _ = r.string(r.value(metadata, "description"), "metadata.description")
            _ = r.stringMap(r.value(metadata, "labels"), "metadata.labels")
            _ = r.stringMap(r.value(metadata, "annotations"), "metadata.annotations")
        } else if r.value(top, "metadata") == nil {
            r.error("missing \"metadata\" (with at least a name)", at: root)
        }

        guard let specNode = r.value(top, "spec") else {
            r.error("missing \"spec\"", at: root)
            return nil
        }
        guard let spec = r.mapping(specNode, "spec") else { return nil }
        r.checkKeys(spec, allowed: specKeys, "spec")

        var policy = Policy(name: name, version: version, rules: [])
        if let interval = r.duration(r.value(spec, "evaluationInterval"), "spec.evaluationInterval", allowZero: false) {
            policy.evaluationInterval = interval
        }
        if let staleness = r.duration(r.value(spec, "staleness"), "spec.staleness", allowZero: false) {
            policy.staleness = staleness
            if staleness < policy.evaluationInterval {
                r.warning("spec.staleness (\(DurationText.format(staleness))) is shorter than the evaluation interval (\(DurationText.format(policy.evaluationInterval))): samples may turn stale between evaluations", at: spec["staleness"])
            }
        }
        if let paused = r.bool(r.value(spec, "paused"), "spec.paused") { policy.paused = paused }
        if let limits = r.mapping(r.value(spec, "limits"), "spec.limits") {
            r.checkKeys(limits, allowed: limitKeys, "spec.limits")
            if let n = r.int(r.value(limits, "maxRebalancesPerDay"), "spec.limits.maxRebalancesPerDay", minimum: 1) {
                policy.limits.maxRebalancesPerDay = n
            }
            if let n = r.int(r.value(limits, "maxConsecutiveIneffective"), "spec.limits.maxConsecutiveIneffective", minimum: 1) {
                policy.limits.maxConsecutiveIneffective = n
            }
        }
        if let windows = r.sequence(r.value(spec, "maintenanceWindows"), "spec.maintenanceWindows") {
            for (index, node) in windows.enumerated() {
                if let window = readWindow(node, "spec.maintenanceWindows[\(index)]", r) { policy.maintenanceWindows.append(window) }
            }
        }

        let rulesNode = r.value(spec, "rules")
        if rulesNode == nil {
            r.error("spec.rules: a policy needs at least one rule", at: specNode)
        } else if let rules = r.sequence(rulesNode, "spec.rules") {
            if rules.isEmpty { r.error("spec.rules: the rule list is empty; a policy needs at least one rule", at: rulesNode) }
            var seen: [String: SourceLocation] = [:]
            for (index, node) in rules.enumerated() {
                guard let rule = readRule(node, "spec.rules[\(index)]", policy: policy, r) else { continue }
                if let first = seen[rule.name] {
                    r.error("duplicate rule name \"\(rule.name)\" (first defined at \(first.line):\(first.column))", at: node.mapping?["name"] ?? node)
                    continue
                }
                seen[rule.name] = r.location(of: node.mapping?["name"] ?? node)
                policy.rules.append(rule)
            }
        }
        return policy
    }

    /// Checks `apiVersion` and `kind` of a document of kind `expectedKind`.
    static func checkHeader(_ top: Node.Mapping, _ root: Node, _ r: YAMLReader, kind expectedKind: String) {
        if let version = r.string(r.value(top, "apiVersion"), "apiVersion") {
            if version != apiVersion {
                r.error("apiVersion \"\(version)\" is not supported; use \"\(apiVersion)\"", at: top["apiVersion"])
            }
        } else if r.value(top, "apiVersion") == nil {
            r.error("missing \"apiVersion: \(apiVersion)\"", at: root)
        }
        if let kind = r.string(r.value(top, "kind"), "kind") {
            if kind != expectedKind { r.error("kind \"\(kind)\" is not \"\(expectedKind)\"", at: top["kind"]) }
        } else if r.value(top, "kind") == nil {
            r.error("missing \"kind: \(expectedKind)\"", at: root)
        }
    }

    static func isDNSLabel(_ name: String) -> Bool {
        guard !name.isEmpty, name.count <= 63 else { return false }
        let scalars = Array(name.unicodeScalars)
        func ok(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("0"..."9").contains(c) }
        guard ok(scalars.first!), ok(scalars.last!) else { return false }
        return scalars.allSatisfy { ok($0) || $0 == "-" }
    }

    // MARK: Maintenance windows

    static func readWindow(_ node: Node, _ path: String, _ r: YAMLReader) -> MaintenanceWindow? {
        guard let m = r.mapping(node, path) else { return nil }
        r.checkKeys(m, allowed: windowKeys, path)
        var ok = true
        var days: Set<Int> = []
        if let list = r.sequence(r.value(m, "days"), "\(path).days") {
            for dayNode in list {
                guard let text = r.string(dayNode, "\(path).days") else { ok = false; continue }
                let key = String(text.lowercased().prefix(3))
                if text.count >= 3, let index = weekdayNames.firstIndex(of: key) {
                    days.insert(index + 1)
                } else {
                    r.error("\(path).days: \"\(text)\" is not a weekday; write Mon, Tue, Wed, Thu, Fri, Sat or Sun", at: dayNode)
                    ok = false
                }
            }
        }
        func minute(_ key: String) -> Int? {
            guard let valueNode = r.value(m, key) else {
                r.error("\(path).\(key) is required (\"HH:MM\", UTC)", at: node)
                return nil
            }
            guard let text = r.string(valueNode, "\(path).\(key)") else { return nil }
            let parts = text.split(separator: ":")
            if parts.count == 2, let h = Int(parts[0]), let mm = Int(parts[1]), (0...24).contains(h), (0..<60).contains(mm),
                h * 60 + mm <= 1440
            {
                return h * 60 + mm
            }
            r.error("\(path).\(key): \"\(text)\" is not a time of day; write \"HH:MM\" (UTC)", at: valueNode)
            return nil
        }
        let start = minute("start"), end = minute("end")
        guard ok, let start, let end else { return nil }
        if start == end {
            r.error("\(path): start and end are equal; the window would be empty", at: node)
            return nil
        }
        return MaintenanceWindow(name: r.string(r.value(m, "name"), "\(path).name"), weekdays: days, startMinute: start, endMinute: end % 1440)
    }

    // MARK: Rules

    static func readRule(_ node: Node, _ path: String, policy: Policy, _ r: YAMLReader) -> Rule? {
        guard let m = r.mapping(node, path) else { return nil }
        r.checkKeys(m, allowed: ruleKeys, path)
        let before = r.diagnostics.filter { $0.severity == .error }.count

        let name: String
        if let n = r.string(r.value(m, "name"), "\(path).name") {
            name = n
            if !isDNSLabel(n) {
                r.error("\(path).name: \"\(n)\" must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)", at: m["name"])
            }
        } else {
            if r.value(m, "name") == nil { r.error("\(path).name is required", at: node) }
            name = "rule-\(path.filter(\.isNumber))"
        }
        let label = "rule \"\(name)\""

        var rule = Rule(name: name, trigger: .skew)
        rule.description = r.string(r.value(m, "description"), "\(label): description")

        // Trigger: a bare string or a mapping with `type`.
        if let triggerNode = r.value(m, "trigger") {
            var typeNode: Node? = triggerNode
            if case .mapping(let tm) = triggerNode {
                r.checkKeys(tm, allowed: triggerKeys, "\(label): trigger")
                typeNode = r.value(tm, "type")
                if typeNode == nil { r.error("\(label): trigger.type is required (scaleOut, restart or skew)", at: triggerNode) }
                if let window = r.duration(r.value(tm, "window"), "\(label): trigger.window", allowZero: false) {
                    rule.triggerWindow = window
                }
                if let nearZero = r.double(r.value(tm, "nearZeroConnections"), "\(label): trigger.nearZeroConnections") {
                    if nearZero < 0 {
                        r.error("\(label): trigger.nearZeroConnections must not be negative", at: tm["nearZeroConnections"])
                    }
                    rule.nearZeroConnections = nearZero
                }
            }
            if let text = r.string(typeNode, "\(label): trigger") {
                if let trigger = Trigger(rawValue: text) {
                    rule.trigger = trigger
                } else {
                    r.error("\(label): unknown trigger \"\(text)\"\(Suggestion.didYouMean(text, among: Trigger.allCases.map(\.rawValue))); expected scaleOut, restart or skew", at: typeNode)
                }
            }
        } else {
            r.error("\(label): trigger is required (scaleOut, restart or skew)", at: node)
        }

        // Imbalance thresholds.
        if let imbalanceNode = r.value(m, "imbalance") {
            if let im = r.mapping(imbalanceNode, "\(label): imbalance") {
                r.checkKeys(im, allowed: imbalanceKeys, "\(label): imbalance")
                rule.connections = readThreshold(r.value(im, "connections"), "\(label): imbalance.connections", r)
                rule.sessions = readThreshold(r.value(im, "sessions"), "\(label): imbalance.sessions", r)
                if r.value(im, "connections") == nil, r.value(im, "sessions") == nil {
                    r.error("\(label): imbalance needs connections and/or sessions thresholds", at: imbalanceNode)
                }
            }
        } else {
            r.error("\(label): imbalance is required (connections and/or sessions, each with abs and rel)", at: node)
        }

        if let d = r.duration(r.value(m, "for"), "\(label): for") { rule.forDuration = d }
        if let d = r.duration(r.value(m, "cooldown"), "\(label): cooldown") { rule.cooldown = d }
        if let n = r.int(r.value(m, "minConnections"), "\(label): minConnections", minimum: 0) { rule.minConnections = n }
        if let n = r.int(r.value(m, "minNodes"), "\(label): minNodes", minimum: 2) { rule.minNodes = n }
        if let p = r.int(r.value(m, "priority"), "\(label): priority") { rule.priority = p }
        if let text = r.string(r.value(m, "action"), "\(label): action") {
            if let action = RuleAction(rawValue: text) {
                rule.action = action
            } else {
                r.error("\(label): unknown action \"\(text)\"\(Suggestion.didYouMean(text, among: RuleAction.allCases.map(\.rawValue))); expected rebalance or alert", at: m["action"])
            }
        }
        if let bypass = r.bool(r.value(m, "bypassMaintenance"), "\(label): bypassMaintenance") {
            rule.bypassMaintenance = bypass
            if bypass, rule.trigger == .skew {
                r.error("\(label): bypassMaintenance applies only to scaleOut and restart rules", at: m["bypassMaintenance"])
            }
        }
        rule.labels = r.stringMap(r.value(m, "labels"), "\(label): labels") ?? [:]
        rule.annotations = r.stringMap(r.value(m, "annotations"), "\(label): annotations") ?? [:]
        if let strategy = readStrategy(r.value(m, "rebalanceStrategy"), "\(label): rebalanceStrategy", r) {
            rule.strategy = strategy
        }

        if rule.trigger != .skew, m["trigger"] != nil, rule.triggerWindow < rule.forDuration {
            r.warning("\(label): trigger.window (\(DurationText.format(rule.triggerWindow))) is shorter than for (\(DurationText.format(rule.forDuration))): the trigger lapses before the rule can fire", at: m["trigger"])
        }
        if rule.action == .rebalance {
            checkHysteresis(rule, m, label, r)
        }
        let after = r.diagnostics.filter { $0.severity == .error }.count
        return after == before ? rule : nil
    }

    static func readThreshold(_ node: Node?, _ path: String, _ r: YAMLReader) -> BalanceThreshold? {
        guard let m = r.mapping(node, path) else { return nil }
        r.checkKeys(m, allowed: thresholdKeys, path)
        let absNode = r.value(m, "abs"), relNode = r.value(m, "rel")
        if absNode == nil { r.error("\(path).abs is required", at: node) }
        if relNode == nil { r.error("\(path).rel is required", at: node) }
        let abs = r.double(absNode, "\(path).abs")
        if let abs, abs < 0 { r.error("\(path).abs must not be negative", at: absNode) }
        let rel = r.double(relNode, "\(path).rel")
        if let rel, rel <= 1.0 {
            r.error("\(path).rel must be greater than 1.0 (EMQX rejects a relative threshold of 1.0 or less), got \(BalanceEvaluation.format(rel))", at: relNode)
        }
        guard let abs, let rel, abs >= 0, rel > 1 else { return nil }
        return BalanceThreshold(absolute: abs, relative: rel)
    }

    static func readStrategy(_ node: Node?, _ path: String, _ r: YAMLReader) -> StrategyTemplate? {
        guard let m = r.mapping(node, path) else { return nil }
        r.checkKeys(m, allowed: strategyKeys, path)
        var s = StrategyTemplate()
        let rateNode = r.value(m, "connEvictRate")
        let autoNode = r.value(m, "autoEvictRate")
        if let rateNode, case .scalar(let scalar) = rateNode, scalar.string == "auto" {
            var target: TimeInterval = 300, minimum = EvictRate.defaultAutoMinimum, maximum = EvictRate.defaultAutoMaximum
            if let am = r.mapping(autoNode, "\(path).autoEvictRate") {
                r.checkKeys(am, allowed: autoKeys, "\(path).autoEvictRate")
                if let t = r.duration(r.value(am, "targetDuration"), "\(path).autoEvictRate.targetDuration", allowZero: false) { target = t }
                if let n = r.int(r.value(am, "min"), "\(path).autoEvictRate.min", minimum: 1) { minimum = n }
                if let n = r.int(r.value(am, "max"), "\(path).autoEvictRate.max", minimum: 1) { maximum = n }
                if maximum < minimum {
                    r.error("\(path).autoEvictRate: max (\(maximum)) is below min (\(minimum))", at: autoNode)
                }
            } else if autoNode == nil {
                r.error("\(path): connEvictRate auto needs autoEvictRate.targetDuration (how long eviction should take)", at: rateNode)
            }
            s.connEvictRate = .auto(targetDuration: target, minimum: minimum, maximum: maximum)
        } else if let rateNode {
            if case .scalar(let scalar) = rateNode, let value = Int(scalar.string) {
                if value < 1 {
                    r.error("\(path).connEvictRate must be at least 1 (the CRD rejects smaller values), got \(value)", at: rateNode)
                }
                s.connEvictRate = .fixed(value)
            } else {
                r.error("\(path).connEvictRate: expected an integer ≥ 1 or \"auto\", got \(YAMLReader.describe(rateNode))", at: rateNode)
            }
            if autoNode != nil {
                r.warning("\(path).autoEvictRate is ignored unless connEvictRate is auto", at: autoNode)
            }
        }
        s.sessEvictRate = r.int(r.value(m, "sessEvictRate"), "\(path).sessEvictRate", minimum: 1)
        s.waitTakeover = r.int(r.value(m, "waitTakeover"), "\(path).waitTakeover", minimum: 0)
        s.waitHealthCheck = r.int(r.value(m, "waitHealthCheck"), "\(path).waitHealthCheck", minimum: 0)
        s.absConnThreshold = r.int(r.value(m, "absConnThreshold"), "\(path).absConnThreshold", minimum: 0)
        s.absSessThreshold = r.int(r.value(m, "absSessThreshold"), "\(path).absSessThreshold", minimum: 0)
        for key in ["relConnThreshold", "relSessThreshold"] {
            guard let valueNode = r.value(m, key) else { continue }
            guard let value = r.double(valueNode, "\(path).\(key)") else { continue }
            if value <= 1.0 {
                r.error("\(path).\(key) must be greater than 1.0 (EMQX rejects it), got \(BalanceEvaluation.format(value))", at: valueNode)
                continue
            }
            let text = valueNode.string ?? BalanceEvaluation.format(value)
            if key == "relConnThreshold" { s.relConnThreshold = text } else { s.relSessThreshold = text }
        }
        return s
    }

    /// Warns when a rule would detect an imbalance its own Rebalance does not fix (EMQX would answer
    /// `nothing_to_balance`, or the cluster would re-fire right after being balanced).
    static func checkHysteresis(_ rule: Rule, _ m: Node.Mapping, _ label: String, _ r: YAMLReader) {
        let imbalance = m["imbalance"]?.mapping
        let pairs: [(String, BalanceThreshold?, BalanceThreshold, String, String)] = [
            ("connections", rule.connections, rule.strategy.fixConnectionThreshold, "absConnThreshold", "relConnThreshold"),
            ("sessions", rule.sessions, rule.strategy.fixSessionThreshold, "absSessThreshold", "relSessThreshold"),
        ]
        for (quantity, detection, fix, absKey, relKey) in pairs {
            guard let detection else { continue }
            let ok = detection.relative >= fix.relative && detection.absolute >= fix.absolute
                && (detection.relative > fix.relative || detection.absolute > fix.absolute)
            if !ok {
                r.warning(
                    "\(label): no hysteresis for \(quantity): detection (abs \(BalanceEvaluation.format(detection.absolute)), rel \(BalanceEvaluation.format(detection.relative))) must be at least the strategy's \(absKey) \(BalanceEvaluation.format(fix.absolute)) and \(relKey) \(BalanceEvaluation.format(fix.relative)), one of them strictly larger; otherwise a just-balanced cluster re-fires and EMQX answers nothing_to_balance",
                    at: imbalance?[quantity] ?? m["imbalance"])
            }
        }
    }
}

/// `check` for `kind: Policy`.
public struct PolicyChecker: DocumentChecker {
    public init() {}
    public var kind: String { PolicyLoader.kind }
    public func check(text: String, file: String) -> [Diagnostic] {
        PolicyLoader.load(text: text, file: file).diagnostics
    }
}
