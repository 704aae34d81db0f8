import Foundation

/// Where the Lease lives, who we are, and the client-go timing (15 s lease, 10 s renew deadline, 2 s retry).
public struct LeaderElectionConfiguration: Sendable, Hashable {
    public var namespace: String
    /// Lease name. Default `emqx-autorebalancer`.
    public var name: String
    /// Unique per process: hostname plus a random suffix (`defaultIdentity(hostname:)`).
    public var identity: String
    /// How long a Lease is valid without renewal; a follower takes over after this much silence. Default 15 s.
    public var leaseDuration: Duration
    /// The leader gives up (stops writing at once) if it could not renew for this long. Default 10 s.
    public var renewDeadline: Duration
    /// Time between attempts to acquire or renew. Default 2 s.
    public var retryPeriod: Duration

    public init(
        namespace: String,
        name: String = "emqx-autorebalancer",
        identity: String,
        leaseDuration: Duration = .seconds(15),
        renewDeadline: Duration = .seconds(10),
        retryPeriod: Duration = .seconds(2)
    ) {
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
    }

    /// `hostname-1a2b3c4d`: two processes on one host (or a restarted pod with the same name) never share an identity.
    public static func defaultIdentity(hostname: String) -> String {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(hostname)-\(String(repeating: "0", count: 8 - suffix.count))\(suffix)"
    }
}
