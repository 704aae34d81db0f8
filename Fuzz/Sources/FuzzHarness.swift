import FuzzEntryPoints

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The entry point named by `FUZZ_TARGET` (one of HostileInput.targets; scripts/fuzz sets it).
let target: HostileInput.Target = {
    let name = getenv("FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = HostileInput.target(named: name) else {
        fatalError("set FUZZ_TARGET to one of: \(HostileInput.targets.map(\.name).joined(separator: ", "))")
    }
    return target
}()

/// One input: a crash is a finding by itself; a broken promise is made one, so libFuzzer keeps the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let broken = target.check(bytes)
    if !broken.isEmpty { fatalError("\(target.name): \(broken.joined(separator: "; "))") }
    return 0
}
