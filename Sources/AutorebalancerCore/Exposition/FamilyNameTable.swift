#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Every family name of one parse, looked up by its bytes in the body.
///
/// The one-TYPE and TYPE-before-samples rules need every name a body declares, but an EMQX node writes some 140
/// families of which the agent builds three: a name is kept as bytes in one shared run and found through an
/// open-addressed index of positions, so a family that is only checked costs no string, no array and no dictionary
/// entry of its own.
struct FamilyNameTable {
    /// The names one after another; `starts[i]` to `starts[i + 1]` is the name of family `i`.
    private var bytes: [UInt8] = []
    private var starts: [Int] = [0]
    /// Family positions by hash; `-1` is free. Its size is a power of two, kept at least twice the count.
    private var slots = [Int32](repeating: -1, count: 64)

    var count: Int { starts.count - 1 }

    /// The length of family `position`'s name.
    func length(_ position: Int) -> Int { starts[position + 1] - starts[position] }

    /// Family `position`'s name as a string (names are ASCII, checked before they are added).
    func name(_ position: Int) -> String {
        bytes[starts[position]..<starts[position + 1]].withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether family `position` is called exactly the `length` bytes at `name`.
    func matches(_ position: Int, _ name: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        length > 0 && self.length(position) == length && startsWith(position, name, length)
    }

    /// Whether the `length` bytes at `name` begin with family `position`'s name.
    func isPrefix(_ position: Int, of name: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        self.length(position) <= length && startsWith(position, name, self.length(position))
    }

    private func startsWith(_ position: Int, _ name: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        bytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + starts[position], name, length) == 0 }
    }

    /// The family called exactly the `length` bytes at `name`.
    func find(_ name: UnsafePointer<UInt8>, _ length: Int) -> Int? {
        let mask = slots.count - 1
        var slot = Self.hash(name, length) & mask
        while true {
            let position = Int(slots[slot])
            if position < 0 { return nil }
            if matches(position, name, length) { return position }
            slot = (slot + 1) & mask
        }
    }

    /// Adds the `length` bytes at `name`, which no family has yet, as the next family; returns its position.
    mutating func add(_ name: UnsafePointer<UInt8>, _ length: Int) -> Int {
        let position = count
        bytes.append(contentsOf: UnsafeBufferPointer(start: name, count: length))
        starts.append(bytes.count)
        if count * 2 > slots.count { grow() }
        place(position, hash: Self.hash(name, length))
        return position
    }

    private mutating func place(_ position: Int, hash: Int) {
        let mask = slots.count - 1
        var slot = hash & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(truncatingIfNeeded: position)
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        for position in 0..<count {
            let hash = bytes.withUnsafeBufferPointer { Self.hash($0.baseAddress! + starts[position], length(position)) }
            place(position, hash: hash)
        }
    }

    /// Mixed into every hash, so that a body cannot be made of names that all land in one slot (a run of lookups as
    /// long as the table).
    private static let seed = UInt64.random(in: 0...UInt64.max)

    /// FNV-1a over the seed: names are short, and this is cheaper than `Hasher` on a name made into a string first.
    private static func hash(_ name: UnsafePointer<UInt8>, _ length: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for index in 0..<length { hash = (hash ^ UInt64(name[index])) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: hash ^ (hash >> 29))
    }
}
