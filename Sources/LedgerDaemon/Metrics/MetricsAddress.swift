// ContactLedger — metrics: where the Prometheus endpoint listens.

/// A loopback `host:port` for the metrics HTTP listener (`127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`).
///
/// Only loopback addresses are accepted: the endpoint has no authentication, so it is reached from other
/// hosts only through something the operator puts in front of it (a reverse proxy, an SSH tunnel).
public struct MetricsAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host to bind, without brackets.
    public var host: String
    /// The TCP port; 0 picks a free one (logged as `metrics.port`).
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` (IPv6 in brackets).
    ///
    /// - Throws: ``DaemonSettings/SettingsError`` when the text is malformed or the host is not loopback.
    public init(parsing text: String) throws {
        let host: Substring
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw DaemonSettings.SettingsError("must be HOST:PORT such as 127.0.0.1:9464, got '\(text)'")
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw DaemonSettings.SettingsError("must be HOST:PORT such as 127.0.0.1:9464, got '\(text)'")
            }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard let number = Int(port), (0...65535).contains(number) else {
            throw DaemonSettings.SettingsError("needs a port from 0 to 65535, got '\(text)'")
        }
        guard Self.isLoopback(String(host)) else {
            throw DaemonSettings.SettingsError("must be a loopback address (127.0.0.0/8, ::1, localhost), got '\(host)'")
        }
        self.host = String(host)
        self.port = number
    }

    /// `127.0.0.1:9464` or `[::1]:9464`.
    public var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }

    private static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
