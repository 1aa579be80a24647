// ContactLedger — metrics: counting calls by method and code.
import RPC

/// An ``RPCHandler`` that passes every call to another and records its method, code and duration in
/// ``DaemonMetrics``.
///
/// The code is the ``RPCError`` code the wrapped handler throws, -32603 for any other error (which the
/// dispatcher answers as an internal error), or `ok`. Calls refused before they reach a handler (parse
/// errors, invalid requests) are not counted.
struct MeteredHandler: RPCHandler {
    let wrapped: any RPCHandler
    let metrics: DaemonMetrics

    func handle(_ call: RPCCall, context: RPCContext) async throws -> [UInt8] {
        let clock = ContinuousClock()
        let started = clock.now
        do {
            let answer = try await self.wrapped.handle(call, context: context)
            self.metrics.recordRequest(method: call.method, code: nil, duration: clock.now - started)
            return answer
        } catch let error as RPCError {
            self.metrics.recordRequest(method: call.method, code: error.code, duration: clock.now - started)
            throw error
        } catch {
            self.metrics.recordRequest(method: call.method, code: -32603, duration: clock.now - started)
            throw error
        }
    }

    func serverStopping() {
        self.wrapped.serverStopping()
    }

    func connectionClosed(_ connectionID: UInt64) async {
        await self.wrapped.connectionClosed(connectionID)
    }
}
