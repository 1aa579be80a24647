// ContactLedger — shared test support.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// TCP connections to servers the tests start on 127.0.0.1.
public enum LoopbackSocket {
    /// A connected socket to 127.0.0.1:`port` with a receive timeout, or nil when nothing accepts there.
    /// The caller closes it.
    public static func connect(port: Int, timeoutSeconds: Int = 2) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            close(fd)
            return nil
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// The answer to `GET path` on 127.0.0.1:`port` (read until the server closes): the status code, the
    /// header lines and the body; nil when the server cannot be reached or does not answer HTTP.
    public static func httpResponse(port: Int, path: String, timeoutSeconds: Int = 5) -> (status: Int, headers: String, body: String)? {
        guard let fd = Self.connect(port: port, timeoutSeconds: timeoutSeconds) else { return nil }
        defer { close(fd) }
        // HTTP/1.0: the answer is never chunked, and the server closes after it.
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), let split = text.range(of: "\r\n\r\n") else { return nil }
        let head = String(text[..<split.lowerBound])
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return (status, head, String(text[split.upperBound...]))
    }

    /// The body of `GET path` on 127.0.0.1:`port`, or nil when the server cannot be reached or does not
    /// answer 200.
    public static func httpGet(port: Int, path: String) -> Data? {
        guard let response = Self.httpResponse(port: port, path: path), response.status == 200 else { return nil }
        return Data(response.body.utf8)
    }
}
