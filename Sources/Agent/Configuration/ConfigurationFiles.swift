import AutorebalancerCore
import Foundation

/// Reads the agent configuration and its policy files from disk: the edge where paths become text. Everything is
/// validated before anything is returned, so a bad file never half-applies.
public enum ConfigurationFiles {
    /// A successfully loaded configuration with its policies, or every problem found.
    public struct Loaded: Sendable {
        public var configuration: AgentConfiguration?
        public var policies: [Policy]
        public var diagnostics: [Diagnostic]
        /// Every file read, with a fingerprint of its content, and every policy directory (key ``directoryPrefix``
        /// plus its path), with a fingerprint of the policy files it lists, so a reloader can tell when something
        /// changed, was added or was removed.
        public var fingerprints: [String: Int]

        public var isValid: Bool { configuration != nil && !diagnostics.hasErrors }
    }

    /// Marks a fingerprint key as a directory's listing rather than a file's content.
    public static let directoryPrefix = "directory:"

    /// Loads `configPath` and every policy file it names (files, or directories of `*.yaml`/`*.yml`, relative to the
    /// config file's directory). Policy names must be unique; every cluster's `policies` must name loaded policies.
    /// `run`, the reloader and `check` all load through here, so they report the same problems.
    public static func load(configPath: String) -> Loaded {
        var fingerprints: [String: Int] = [:]
        let text: String
        switch read(configPath, into: &fingerprints) {
        case .success(let read): text = read
        case .failure(let problem):
            return Loaded(
                configuration: nil,
                policies: [],
                diagnostics: [
                    Diagnostic(
                        .error,
                        at: SourceLocation(file: configPath, line: 1, column: 1),
                        "cannot read the configuration file: it \(problem)"
                    )
                ],
                fingerprints: fingerprints
            )
        }
        return load(text: text, configPath: configPath, fingerprints: fingerprints)
    }

    /// `load(configPath:)` for a configuration whose text the caller already read (`check`); the policy files it
    /// names are read from disk.
    public static func load(text: String, configPath: String) -> Loaded {
        load(text: text, configPath: configPath, fingerprints: [:])
    }

    static func load(text: String, configPath: String, fingerprints: [String: Int]) -> Loaded {
        var fingerprints = fingerprints
        let result = AgentConfiguration.load(text: text, file: configPath)
        var diagnostics = result.diagnostics
        guard let configuration = result.configuration else {
            return Loaded(configuration: nil, policies: [], diagnostics: diagnostics, fingerprints: fingerprints)
        }
        let references = result.references
        var policies: [Policy] = []
        var origins: [String: SourceLocation] = [:]
        for (index, path) in configuration.policyPaths.enumerated() {
            let resolved = resolve(path, relativeTo: configPath)
            let files = policyFiles(at: resolved)
            let directory = isDirectory(resolved)
            if directory { fingerprints[directoryPrefix + resolved] = listingFingerprint(files) }
            if files.isEmpty {
                let shown = resolved == path ? "" : " (\(resolved))"
                diagnostics.append(
                    Diagnostic(
                        .error,
                        at: references.policyPath(index),
                        directory
                            ? "policies[\(index)]: the directory \"\(path)\"\(shown) holds no *.yaml or *.yml policy files"
                            : "policies[\(index)]: \"\(path)\"\(shown) does not exist; give a policy file or a directory of them (relative paths start at this file's folder)"
                    )
                )
            }
            for file in files {
                let policyText: String
                switch read(file, into: &fingerprints) {
                case .success(let read): policyText = read
                case .failure(let problem):
                    diagnostics.append(
                        Diagnostic(
                            .error,
                            at: SourceLocation(file: file, line: 1, column: 1),
                            "cannot read the policy file (listed by \(references.policyPath(index))): it \(problem)"
                        )
                    )
                    continue
                }
                let loaded = PolicyLoader.load(text: policyText, file: file)
                diagnostics += loaded.diagnostics
                guard let policy = loaded.policy else { continue }
                let location = loaded.nameLocation ?? SourceLocation(file: file, line: 1, column: 1)
                if let other = origins[policy.name] {
                    diagnostics.append(
                        Diagnostic(
                            .error,
                            at: location,
                            "policy name \"\(policy.name)\" is already used at \(other); names must be unique (clusters[].policies selects policies by name)"
                        )
                    )
                    continue
                }
                origins[policy.name] = location
                policies.append(policy)
            }
        }
        let names = policies.map(\.name).sorted()
        let loadedNames = names.isEmpty ? "no policy was loaded" : "loaded: \(names.joined(separator: ", "))"
        for (clusterIndex, cluster) in configuration.clusters.enumerated() {
            for (index, name) in cluster.policies.enumerated() where !names.contains(name) {
                diagnostics.append(
                    Diagnostic(
                        .error,
                        at: references.clusterPolicy(clusterIndex, index),
                        "clusters[\(clusterIndex)].policies[\(index)]: no loaded policy is named \"\(name)\"\(Suggestion.didYouMean(name, among: names)); \(loadedNames)"
                    )
                )
            }
        }
        let valid = !diagnostics.hasErrors
        return Loaded(
            configuration: valid ? configuration : nil,
            policies: valid ? policies : [],
            diagnostics: diagnostics,
            fingerprints: fingerprints
        )
    }

    /// A policy path as the agent opens it: absolute as written, else below the config file's folder (kept as the
    /// user wrote it, so messages show `deploy/base/config/../rules/x.yaml`, not an absolute path).
    static func resolve(_ path: String, relativeTo configPath: String) -> String {
        if path.hasPrefix("/") { return path }
        let folder = (configPath as NSString).deletingLastPathComponent
        return folder.isEmpty ? path : (folder as NSString).appendingPathComponent(path)
    }

    /// The fingerprints of the files and directories `load` read, as they are on disk now (a missing file has
    /// fingerprint 0).
    public static func currentFingerprints(of keys: some Sequence<String>) -> [String: Int] {
        var result: [String: Int] = [:]
        for key in keys {
            if key.hasPrefix(directoryPrefix) {
                result[key] = listingFingerprint(policyFiles(at: String(key.dropFirst(directoryPrefix.count))))
                continue
            }
            var scratch: [String: Int] = [:]
            _ = read(key, into: &scratch)
            result[key] = scratch[key] ?? 0
        }
        return result
    }

    /// A fingerprint of which policy files a directory holds (names only: their content has fingerprints of its own).
    static func listingFingerprint(_ files: [String]) -> Int {
        var hasher = Hasher()
        for file in files { hasher.combine(file) }
        hasher.combine(files.count)
        return hasher.finalize()
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The file's text (or why it cannot be read, as ``TextFile`` words it), remembering its fingerprint.
    static func read(_ path: String, into fingerprints: inout [String: Int]) -> Result<String, TextFile.Unreadable> {
        let result = TextFile.read(path)
        if case .success(let text) = result {
            var hasher = Hasher()
            // The whole text: a prefix or the size would miss most edits.
            hasher.combine(text)
            fingerprints[path] = hasher.finalize()
        }
        return result
    }

    /// A file as itself; a directory as its `*.yaml`/`*.yml` files (sorted; hidden entries, such as the `..data`
    /// links of a mounted ConfigMap, skipped).
    static func policyFiles(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [path] }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return entries.filter { !$0.hasPrefix(".") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) }.sorted()
            .map { (path as NSString).appendingPathComponent($0) }
    }
}

/// `check` for `kind: AgentConfig`: the configuration loaded exactly as `run` loads it, policy files included.
public struct AgentConfigurationChecker: DocumentChecker {
    public init() {}
    public var kind: String { AgentConfiguration.kind }
    public func check(text: String, file: String) -> [Diagnostic] {
        ConfigurationFiles.load(text: text, configPath: file).diagnostics
    }
}
