import Foundation
import Yams

/// One mapping of a YAML document being read by a lenient first layer: each key is named once, where its value is
/// read. The section builds the key's path for messages (`clusters[0].source`), remembers where every present key's
/// value is, and, when the reading is done, reports the keys nobody asked for with a "did you mean".
///
/// Reading checks form only (a mapping, a list, a string, an integer, a duration); what the values mean is the
/// validating layer's job.
public final class YAMLSection {
    public let reader: YAMLReader
    /// The section's path in messages; "" for the document itself.
    public let path: String
    /// Where the mapping is.
    public let location: SourceLocation
    private let mapping: Node.Mapping
    private var known: [String] = []
    /// Where the value of each key that is present (and not `null`) is, readable or not.
    public private(set) var locations: [String: SourceLocation] = [:]

    private init(reader: YAMLReader, path: String, node: Node, mapping: Node.Mapping) {
        self.reader = reader
        self.path = path
        self.location = reader.location(of: node)
        self.mapping = mapping
    }

    /// Reads `node` as a mapping with `body`, then reports unknown keys. `nil` when the node is absent or not a
    /// mapping (reported as such, under `name`, else the path).
    public static func read<T>(
        _ node: Node?,
        _ path: String,
        _ reader: YAMLReader,
        name: String? = nil,
        _ body: (YAMLSection) -> T
    ) -> T? {
        guard let node, let mapping = reader.mapping(node, name ?? path) else { return nil }
        let section = YAMLSection(reader: reader, path: path, node: node, mapping: mapping)
        let result = body(section)
        section.finish()
        return result
    }

    /// The path of one of the section's keys.
    public func path(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The value node of `key` (a YAML `null` counts as absent); declares the key.
    public func value(_ key: String) -> Node? {
        if !known.contains(key) { known.append(key) }
        guard let node = reader.value(mapping, key) else { return nil }
        locations[key] = reader.location(of: node)
        return node
    }

    /// Whether `key` is written at all, even as `null`; declares the key.
    public func isWritten(_ key: String) -> Bool {
        if !known.contains(key) { known.append(key) }
        return mapping[key] != nil
    }

    /// The value node of `key` even when it is `null`; declares the key.
    public func writtenNode(_ key: String) -> Node? {
        if !known.contains(key) { known.append(key) }
        return mapping[key]
    }

    /// Where the value of `key` is written, even as `null` (where a message about it points).
    public func writtenLocation(_ key: String) -> SourceLocation? {
        mapping[key].map { reader.location(of: $0) }
    }

    public func string(_ key: String) -> Located<String>? { located(key) { reader.string($0, path(key)) } }
    /// An integer, at most `maximum` (the CRDs' `int32` unless the key says less).
    public func int(_ key: String, maximum: Int = YAMLReader.maximumInteger) -> Located<Int>? {
        located(key) { reader.int($0, path(key), maximum: maximum) }
    }
    public func bool(_ key: String) -> Located<Bool>? { located(key) { reader.bool($0, path(key)) } }
    /// A duration, at most `maximum` long (a year unless the key says less), so none can overflow a clock.
    public func duration(_ key: String, maximum: TimeInterval = DurationText.maximum) -> Located<TimeInterval>? {
        located(key) { reader.duration($0, path(key), maximum: maximum) }
    }
    public func stringMap(_ key: String) -> Located<[String: String]>? {
        located(key) { reader.stringMap($0, path(key)) }
    }

    /// A mapping of strings to strings whose values each keep their position (URLs a message may point at).
    public func locatedStringMap(_ key: String) -> Located<[String: Located<String>]>? {
        located(key) { node in
            guard let map = reader.stringMap(node, path(key)) else { return nil }
            return map.reduce(into: [:]) { result, entry in
                result[entry.key] = Located(entry.value, at: reader.location(of: node.mapping?[entry.key] ?? node))
            }
        }
    }

    /// A list, each item read by `item` with its index; `nil` items (unreadable) keep their place.
    public func list<T: Sendable & Hashable>(_ key: String, _ item: (Node, Int, String) -> T?) -> Located<[T?]>? {
        located(key) { node in
            reader.sequence(node, path(key)).map { items in
                items.enumerated().map { index, node in item(node, index, "\(path(key))[\(index)]") }
            }
        }
    }

    /// A list of strings.
    public func strings(_ key: String) -> Located<[Located<String>?]>? {
        list(key) { node, _, itemPath in
            reader.string(node, itemPath).map { Located($0, at: reader.location(of: node)) }
        }
    }

    /// A nested mapping read with `body`.
    public func section<T>(_ key: String, _ body: (YAMLSection) -> T) -> T? {
        Self.read(value(key), path(key), reader, body)
    }

    private func located<T: Sendable & Hashable>(_ key: String, _ read: (Node) -> T?) -> Located<T>? {
        guard let node = value(key), let value = read(node) else { return nil }
        return Located(value, at: reader.location(of: node))
    }

    private func finish() {
        reader.checkKeys(mapping, allowed: known, path)
    }
}
