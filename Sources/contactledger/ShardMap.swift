// ContactLedger — command-line client.
import Foundation
import RPC

/// A static map from each workspace to the socket of the primary daemon that owns it, read from a JSON
/// file (`--shard-map FILE`, else `$CONTACTLEDGER_SHARD_MAP`).
///
/// The file is one object with two members, and no others:
///
/// ```json
/// {
///   "shards": {"acme": "/run/contactledger/a.sock", "globex": "/run/contactledger/b.sock"},
///   "default": "/run/contactledger/a.sock"
/// }
/// ```
///
/// - `shards` (required, may be empty): workspace name → socket path of its primary.
/// - `default` (optional): the socket for workspaces the map does not name and for calls that name no
///   workspace (`system.health`, `ledger.verify`, or any call without `--workspace`, which the daemon runs in
///   its workspace `main`). Without it, such calls fail instead of guessing.
///
/// Relative socket paths are relative to the directory of the map file. Because a call without a
/// workspace acts in `main` on the default primary, a map that sends `main` elsewhere than `default` is
/// refused (the two compared in their ``normalForm(_:)``, so `./a.sock` and `a.sock` are one socket). A
/// workspace (or key) listed twice is refused.
struct ShardMap: Sendable, Equatable {
    /// The environment variable naming the map file when `--shard-map` is not given.
    static let environmentVariable = "CONTACTLEDGER_SHARD_MAP"
    /// The workspace a daemon acts in when a call names none.
    static let implicitWorkspace = "main"

    /// The file the map was read from (for messages).
    let path: String
    /// Workspace → socket path (absolute).
    let shards: [String: String]
    /// The socket for everything else, if any (absolute).
    let defaultSocket: String?

    /// Reads and checks the map file at `path`.
    ///
    /// - Throws: ``ShardMapError`` naming the file and what is wrong with it.
    init(contentsOf path: String) throws(ShardMapError) {
        guard FileManager.default.fileExists(atPath: path) else { throw ShardMapError(path: path, reason: "does not exist") }
        guard let data = FileManager.default.contents(atPath: path) else { throw ShardMapError(path: path, reason: "cannot be read") }
        try self.init(json: data, path: path)
    }

    /// Parses and checks a map; relative socket paths are resolved against the directory of `path`.
    ///
    /// - Throws: ``ShardMapError``.
    init(json data: Data, path: String) throws(ShardMapError) {
        func failure(_ reason: String) -> ShardMapError { ShardMapError(path: path, reason: reason) }
        // Duplicates refused: a workspace listed twice went to whichever socket came last, without a word.
        let value: JSONValue?
        do {
            value = try JSONTextParser.parse(data, duplicateKeys: .refused)
        } catch where error.reason == .duplicateKey {
            throw failure("lists \"\(error.key ?? "")\" twice in one object: each workspace, and each key, may appear only once")
        } catch {
            value = nil
        }
        guard case .object(let members)? = value else {
            throw failure(#"is not a JSON object like {"shards": {"WORKSPACE": "SOCKET"}, "default": "SOCKET"}"#)
        }
        if let unknown = members.keys.sorted().first(where: { $0 != "shards" && $0 != "default" }) {
            throw failure("has an unknown key \"\(unknown)\" (only \"shards\" and \"default\")")
        }
        guard case .object(let entries)? = members["shards"] else {
            throw failure("needs \"shards\": an object mapping each workspace to its primary's socket")
        }
        let directory = (path as NSString).deletingLastPathComponent
        func socket(_ value: JSONValue?, _ key: String) throws(ShardMapError) -> String {
            guard case .string(let socket)? = value, !socket.isEmpty else {
                throw failure("\(key) must be a socket path (a non-empty string)")
            }
            guard !socket.hasPrefix("/"), !directory.isEmpty else { return socket }
            return (directory as NSString).appendingPathComponent(socket)
        }
        var shards: [String: String] = [:]
        for (workspace, value) in entries {
            guard !workspace.isEmpty else { throw failure("has an empty workspace name in \"shards\"") }
            shards[workspace] = try socket(value, "shards.\(workspace)")
        }
        var defaultSocket: String?
        if let value = members["default"], value != .null { defaultSocket = try socket(value, "default") }
        if let main = shards[Self.implicitWorkspace], let defaultSocket, Self.normalForm(main) != Self.normalForm(defaultSocket) {
            throw failure(
                "sends workspace \(Self.implicitWorkspace) to \(main) but \"default\" is \(defaultSocket): calls without a workspace act in"
                    + " \(Self.implicitWorkspace) on the default primary, so the two must be the same socket"
            )
        }
        self.path = path
        self.shards = shards
        self.defaultSocket = defaultSocket
    }

    /// `path` as the one file it names, for comparing two spellings: made absolute against the current
    /// directory (where a relative path is opened), `.`, `..` and repeated slashes taken out, as the
    /// kernel reads them when no directory on the way is a symbolic link. `./a.sock`, `a.sock` and
    /// `sub/../a.sock` were three sockets to the check of `main` against `default`.
    static func normalForm(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// The socket of the primary a call goes to: its workspace's, else the default.
    ///
    /// - Parameters:
    ///   - workspace: the call's `workspace` param, nil when it has none.
    ///   - method: the method, for the message when the call cannot be routed.
    /// - Throws: ``RoutingError`` when the workspace is not in the map (or the call names none) and the
    ///   map has no default.
    func socketPath(workspace: String?, method: String) throws(RoutingError) -> String {
        if let workspace, let socket = self.shards[workspace] { return socket }
        if let socket = self.defaultSocket { return socket }
        if let workspace {
            throw RoutingError(
                description: "workspace \(workspace) is not in the shard map \(self.path), which has no \"default\": add it to \"shards\""
            )
        }
        throw RoutingError(
            description: "\(method) names no workspace and the shard map \(self.path) has no \"default\": pass --workspace NAME"
                + " (or \"workspace\" in the params), or give the map a default"
        )
    }
}

/// A shard map file that cannot be used.
struct ShardMapError: Error, CustomStringConvertible {
    /// The map file.
    var path: String
    /// What is wrong, as the rest of a sentence after the file name.
    var reason: String
    var description: String { "the shard map \(self.path) \(self.reason)." }
}

/// A call the shard map has no primary for.
struct RoutingError: Error, CustomStringConvertible {
    var description: String
}
