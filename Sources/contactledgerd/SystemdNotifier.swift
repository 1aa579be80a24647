// ContactLedger — daemon executable: readiness notification for systemd (Type=notify).
import Foundation

/// Sends `sd_notify(3)` messages (`READY=1`, `STOPPING=1`, `STATUS=…`) to the datagram socket named by
/// `$NOTIFY_SOCKET`, as systemd sets it for `Type=notify` services. Does nothing when the variable is
/// unset, so the daemon runs the same outside systemd. Paths starting with `@` are abstract sockets.
enum SystemdNotifier {
    /// Sends `message`; returns whether it was sent (false without `$NOTIFY_SOCKET` or on any error).
    @discardableResult
    static func notify(_ message: String) -> Bool {
        guard let path = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"], !path.isEmpty else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(path.utf8)
        let isAbstract = pathBytes.first == UInt8(ascii: "@")
        if isAbstract { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in pathBytes.enumerated() { buffer[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (isAbstract ? 0 : 1))
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                sendto(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, length)
            }
        }
        return sent == bytes.count
    }
}
