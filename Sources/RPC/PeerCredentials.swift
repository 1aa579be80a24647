// ContactLedger — JSON-RPC layer.

/// The credentials of the process at the other end of a Unix socket (SO_PEERCRED), and its
/// supplementary groups (SO_PEERGROUPS), as they were when it connected.
public struct PeerCredentials: Sendable, Hashable, Codable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    /// Its supplementary groups besides `gid` (group 0 among them is not reported).
    public var groups: [UInt32]

    public init(uid: UInt32, gid: UInt32, pid: Int32, groups: [UInt32] = []) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.groups = groups
    }
}
