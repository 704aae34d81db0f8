import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A directory laid out as the kubelet mounts a ConfigMap: the files live in `..<revision>/`, `..data` links to the
/// current revision, and each key is a link `key -> ..data/key`. `update` writes a new revision and swaps `..data` in
/// one `rename`, then adds links for new keys and removes those of deleted keys, as the kubelet's atomic writer does.
struct ConfigMapMount {
    let directory: URL
    private(set) var revision = 0
    private var keys: Set<String> = []

    init(at directory: URL, files: [String: String]) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try update(files)
    }

    func path(_ key: String) -> String { directory.appendingPathComponent(key).path }

    mutating func update(_ files: [String: String]) throws {
        let fm = FileManager.default
        let old = revision
        revision += 1
        let name = "..2026_11_20_10_00_00.\(revision)"
        let folder = directory.appendingPathComponent(name)
        try fm.createDirectory(at: folder, withIntermediateDirectories: false)
        for (key, text) in files {
            try text.write(to: folder.appendingPathComponent(key), atomically: false, encoding: .utf8)
        }
        let temporary = path("..data_tmp")
        try fm.createSymbolicLink(atPath: temporary, withDestinationPath: name)
        guard rename(temporary, path("..data")) == 0 else { throw CocoaError(.fileWriteUnknown) }
        for key in Set(files.keys).subtracting(keys) {
            try fm.createSymbolicLink(atPath: path(key), withDestinationPath: "..data/\(key)")
        }
        for key in keys.subtracting(files.keys) { try fm.removeItem(atPath: path(key)) }
        keys = Set(files.keys)
        if old > 0 { try fm.removeItem(at: directory.appendingPathComponent("..2026_11_20_10_00_00.\(old)")) }
    }
}
