// ContactLedger — daemon wiring.

/// Who may call what: optional grants by peer uid or gid, per workspace, read-only or read-write.
///
/// With no grants, anyone who can open the socket (its mode and group decide) may do everything.
/// With grants, a call is allowed only if a grant matches the peer and the call's ``Scope`` and allows
/// the method's kind (queries and exports need `read`, other commands `write`); a call that names a
/// file on the daemon's host (an import's, an export's or a backup's `path`) also needs `files=yes`,
/// since the daemon reads and writes it with its own rights, not the peer's. Root gets no exception:
/// grant it if it needs access.
public struct AccessPolicy: Sendable, Hashable {
    /// One grant, e.g. `uid=1000,workspace=main,mode=read` or `gid=115,mode=write,files=yes` (any workspace).
    public struct Grant: Sendable, Hashable, CustomStringConvertible {
        public enum Principal: Sendable, Hashable {
            case uid(UInt32)
            /// The group's members: the peer's primary group, or one of its supplementary groups.
            case gid(UInt32)
        }

        public enum Mode: String, Sendable, Hashable {
            case read
            case write
        }

        public var principal: Principal
        /// nil: every workspace, and the daemon-wide methods.
        public var workspace: String?
        public var mode: Mode
        /// Whether the peer may name files on the daemon's host (`path` of imports, exports, backups).
        public var files: Bool

        /// Parses `uid=N|gid=N[,workspace=W][,mode=read|write][,files=yes|no]` (mode defaults to write,
        /// files to no; `workspace=*` is every workspace). Each key at most once, exactly one of `uid` and
        /// `gid`, and a workspace a valid workspace name.
        public init?(parsing text: String) {
            var values: [String: String] = [:]
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2, !pair[1].isEmpty, values.updateValue(pair[1], forKey: pair[0]) == nil else { return nil }
            }
            guard Set(values.keys).isSubset(of: ["uid", "gid", "workspace", "mode", "files"]) else { return nil }
            switch (values["uid"].map { UInt32($0) }, values["gid"].map { UInt32($0) }) {
            case (let uid??, nil): self.principal = .uid(uid)
            case (nil, let gid??): self.principal = .gid(gid)
            default: return nil
            }
            // `*` is every workspace, as a grant without one; any other must be a name a call can give, or
            // the grant would match nothing and refuse its peer everything without a word at start.
            if let workspace = values["workspace"], workspace != "*" {
                guard LedgerMethods.isValidWorkspaceName(workspace) else { return nil }
                self.workspace = workspace
            } else {
                self.workspace = nil
            }
            guard let mode = values["mode"].map({ Mode(rawValue: $0) }) ?? .write else { return nil }
            self.mode = mode
            switch values["files"] {
            case nil, "no": self.files = false
            case "yes": self.files = true
            default: return nil
            }
        }

        public var description: String {
            let who: String
            switch self.principal {
            case .uid(let uid): who = "uid=\(uid)"
            case .gid(let gid): who = "gid=\(gid)"
            }
            return "\(who),workspace=\(self.workspace ?? "*"),mode=\(self.mode.rawValue),files=\(self.files ? "yes" : "no")"
        }
    }

    /// What a call reaches.
    enum Scope: Equatable {
        /// One workspace's data.
        case workspace(String)
        /// The whole ledger (every workspace's data, or the shared read models): only grants without
        /// a workspace limit reach it.
        case daemon
        /// Nothing of any workspace (the daemon's liveness, its method list): any grant of the peer's.
        case none
    }

    /// The peer a call comes from, as the socket reported it.
    struct Peer {
        var uid: UInt32?
        var gid: UInt32?
        /// Its supplementary groups (SO_PEERGROUPS).
        var groups: [UInt32]
    }

    public var grants: [Grant]

    public init(grants: [Grant] = []) { self.grants = grants }

    /// Whether `peer` may make a call of this kind in `scope`.
    func allows(_ peer: Peer, scope: Scope, writes: Bool, namesFiles: Bool) -> Bool {
        guard !self.grants.isEmpty else { return true }
        return self.grants.contains { grant in
            switch scope {
            case .workspace(let name): guard grant.workspace == nil || grant.workspace == name else { return false }
            case .daemon: guard grant.workspace == nil else { return false }
            case .none: break
            }
            guard scope == .none || !writes || grant.mode == .write, !namesFiles || grant.files else { return false }
            switch grant.principal {
            case .uid(let value): return peer.uid == value
            case .gid(let value): return peer.gid == value || peer.groups.contains(value)
            }
        }
    }
}
