import Foundation
import Yams

/// The outcome of loading a policy: the policy when there was no error, and every diagnostic (warnings too).
public struct PolicyLoadResult: Sendable {
    public var policy: Policy?
    public var diagnostics: [Diagnostic]
    /// Where `metadata.name` is written, so that a caller holding several policies can point at a clash.
    public var nameLocation: SourceLocation?

    public init(policy: Policy?, diagnostics: [Diagnostic], nameLocation: SourceLocation? = nil) {
        self.policy = policy
        self.diagnostics = diagnostics
        self.nameLocation = nameLocation
    }
}

/// Loads `kind: Policy` documents: YAML text plus a file name in, a validated `Policy` and positioned diagnostics out.
///
/// Two layers: `PolicyDocument.read` (lenient: syntax, unknown keys, types, durations) then `PolicyValidator`
/// (meaning: required fields, ranges, DNS names, duplicates, hysteresis) builds the domain model. Every problem of
/// both layers is collected before the result is returned.
public enum PolicyLoader {
    public static let apiVersion = "autorebalancer.emqx.io/v1alpha1"
    public static let kind = "Policy"

    /// Loads and validates one policy document.
    /// - Parameters:
    ///   - text: the YAML text.
    ///   - file: the name used in diagnostics (never opened).
    public static func load(text: String, file: String) -> PolicyLoadResult {
        let reader = YAMLReader(file: file)
        guard let document = PolicyDocument.read(text: text, reader: reader) else {
            return PolicyLoadResult(policy: nil, diagnostics: reader.diagnostics)
        }
        var validator = PolicyValidator(file: file)
        let policy = validator.validate(document)
        let diagnostics = reader.diagnostics + validator.diagnostics
        return PolicyLoadResult(
            policy: diagnostics.hasErrors ? nil : policy,
            diagnostics: diagnostics,
            nameLocation: document.metadata?.name?.location
        )
    }

    /// Checks `apiVersion` and `kind` of a document of kind `expectedKind` (used by other single-layer kinds).
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

    /// RFC 1123 label: lowercase alphanumerics and `-`, starting and ending alphanumeric, at most 63 characters.
    public static func isDNSLabel(_ name: String) -> Bool {
        guard !name.isEmpty, name.count <= 63 else { return false }
        let scalars = Array(name.unicodeScalars)
        func ok(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("0"..."9").contains(c) }
        guard ok(scalars.first!), ok(scalars.last!) else { return false }
        return scalars.allSatisfy { ok($0) || $0 == "-" }
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
