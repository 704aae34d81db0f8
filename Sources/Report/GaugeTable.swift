import Synchronization

/// The agent's gauges as plain numbers: one per series, under the series' rendered label set, written out when
/// `/metrics` is read.
///
/// The agent sets thousands of gauges per cycle (per node, per rule and state, per cluster) and keeps them between
/// cycles. The Prometheus library's gauge is an object per series holding its name, its label pairs and a pre-rendered
/// line; at 200 clusters × 20 nodes those 14,000 objects and the index to find them again were ~6 MB of the agent's
/// memory (docs/benchmarks.md). Here a series is one string and one number, and its line is written at scrape time,
/// in the library's format (`name{label="value",…} value`, the value as Swift prints a Double).
final class GaugeTable: Sendable {
    /// Series per family name: rendered labels (`cluster="a",node="b"`, empty without labels) → value.
    private let series = Mutex<[String: [String: Double]]>([:])

    func set(_ family: String, _ labels: [(String, String)], to value: Double) {
        let key = Self.render(labels)
        series.withLock { $0[family, default: [:]][key] = value }
    }

    func remove(_ family: String, _ labels: [(String, String)]) {
        let key = Self.render(labels)
        series.withLock { _ = $0[family]?.removeValue(forKey: key) }
    }

    /// The text of `families` (name and HELP) in their order, each with its HELP and TYPE lines even without series,
    /// the series sorted by their labels so that two reads differ only where values changed.
    func emit(_ families: [(name: String, help: String)], into text: inout String) {
        let snapshot = series.withLock { $0 }
        for family in families {
            text += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) gauge\n"
            guard let values = snapshot[family.name] else { continue }
            for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                text += key.isEmpty ? family.name : "\(family.name){\(key)}"
                text += " \(value)\n"
            }
        }
    }

    /// `name="value"` pairs joined by commas, values escaped as the exposition format wants (`\\`, `\"`, `\n`):
    /// written straight into one string of the exact length (a cycle renders thousands).
    static func render(_ labels: [(String, String)]) -> String {
        var count = max(labels.count - 1, 0)
        for (name, value) in labels {
            count += name.utf8.count + 3 + value.utf8.count
            for byte in value.utf8 where escaped(byte) != nil { count += 1 }
        }
        return String(unsafeUninitializedCapacity: count) { buffer in
            var index = 0
            func put(_ byte: UInt8) {
                buffer[index] = byte
                index += 1
            }
            for (position, (name, value)) in labels.enumerated() {
                if position > 0 { put(UInt8(ascii: ",")) }
                for byte in name.utf8 { put(byte) }
                put(UInt8(ascii: "="))
                put(UInt8(ascii: "\""))
                for byte in value.utf8 {
                    if let escape = escaped(byte) {
                        put(UInt8(ascii: "\\"))
                        put(escape)
                    } else {
                        put(byte)
                    }
                }
                put(UInt8(ascii: "\""))
            }
            return index
        }
    }

    /// The letter after the backslash for a byte that is escaped in a label value.
    private static func escaped(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "\\"): UInt8(ascii: "\\")
        case UInt8(ascii: "\""): UInt8(ascii: "\"")
        case UInt8(ascii: "\n"): UInt8(ascii: "n")
        default: nil
        }
    }
}
