import CAllocator

/// The allocator settings of the `run` process, for work that comes in bursts.
///
/// Every cycle builds, then frees, the decoded metric answers, the cluster cycles' async frames and the rendered
/// exposition, while the long-lived state (metric series, node memory, the watch cache) is made in between. glibc's
/// defaults keep what such a burst freed: a dynamic mmap threshold that soon serves even megabyte buffers from the
/// heap, up to eight arenas per core for the event-loop and task threads, and free space between live objects that is
/// only given back when asked. At 200 clusters that was over a third of the agent's memory (docs/benchmarks.md,
/// "Memory at 200 × 20"). Elsewhere (macOS, musl) these are no-ops.
public enum ProcessMemory {
    /// Allocations from this size on get their own mapping, returned to the system when freed.
    static let mmapThreshold: Int32 = 64 << 10
    /// Arenas the threads share: the agent's work is one cycle at a time, not a contended hot path.
    static let arenaLimit: Int32 = 2

    /// Call once at start, before the clients and loops start their threads (arenas are made per thread).
    public static func tuneAllocator() {
        autorebalancer_tune_allocator(arenaLimit, mmapThreshold)
    }

    /// Gives the whole free pages inside the heap back to the system; the agent calls it after each cycle.
    public static func returnFreedMemory() {
        autorebalancer_return_freed_memory()
    }
}

/// Returns the memory a cycle freed to the system once the cycle is reported (the last of the sinks).
public struct FreedMemoryReturn: TickReportSink {
    public init() {}

    public func publish(_ report: TickReport) async {
        ProcessMemory.returnFreedMemory()
    }
}
