// ContactLedger — daemon wiring.

/// Who may call what: optional grants by peer uid or gid, per workspace, read-only or read-write.
///
/// With no grants, anyone who can open the socket (its mode and group decide) may do everything.
/// With grants, a call is allowed only if a grant matches the peer and the workspace and allows the
/// method's kind (queries need `read`, commands `write`). Root gets no exception: grant it if it needs
/// access.
public struct AccessPolicy: Sendable, Hashable {
    /// One grant, e.g. `uid=1000,workspace=main,mode=read` or `gid=115,mode=write` (any workspace).
    public struct Grant: Sendable, Hashable, CustomStringConvertible {
        public enum Principal: Sendable, Hashable {
            case uid(UInt32)
            case gid(UInt32)
        }

        public enum Mode: String, Sendable, Hashable {
            case read
            case write
        }

        public var principal: Principal
        /// nil: every workspace.
        public var workspace: String?
        public var mode: Mode

        /// Parses `uid=N|gid=N[,workspace=W][,mode=read|write]` (mode defaults to write).
        public init?(parsing text: String) {
            var principal: Principal?
            var workspace: String?
            var mode = Mode.write
            for part in text.split(separator: ",") {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else { return nil }
                switch pair[0] {
                case "uid":
                    guard let value = UInt32(pair[1]) else { return nil }
                    principal = .uid(value)
                case "gid":
                    guard let value = UInt32(pair[1]) else { return nil }
                    principal = .gid(value)
                case "workspace":
                    workspace = pair[1] == "*" ? nil : pair[1]
                case "mode":
                    guard let value = Mode(rawValue: pair[1]) else { return nil }
                    mode = value
                default: return nil
                }
            }
            guard let principal else { return nil }
            self.principal = principal
            self.workspace = workspace
            self.mode = mode
        }

        public var description: String {
            let who: String
            switch self.principal {
            case .uid(let uid): who = "uid=\(uid)"
            case .gid(let gid): who = "gid=\(gid)"
            }
            return "\(who),workspace=\(self.workspace ?? "*"),mode=\(self.mode.rawValue)"
        }
    }

    public var grants: [Grant]

    public init(grants: [Grant] = []) { self.grants = grants }

    /// Whether a peer may call a method of this kind in `workspace`.
    func allows(uid: UInt32?, gid: UInt32?, workspace: String, writes: Bool) -> Bool {
        guard !self.grants.isEmpty else { return true }
        return self.grants.contains { grant in
            let matches: Bool
            switch grant.principal {
            case .uid(let value): matches = uid == value
            case .gid(let value): matches = gid == value
            }
            return matches && (grant.workspace == nil || grant.workspace == workspace) && (!writes || grant.mode == .write)
        }
    }
}
