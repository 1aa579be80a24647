// ContactLedger — shared test support.
import Foundation

/// What a ``ChildProcess``'s standard input, output or error is connected to, as with Foundation's
/// `Process`: a `Pipe` (the child gets the end it reads or writes, and the parent closes that end once
/// the child has started) or a `FileHandle` (`FileHandle.nullDevice` for `/dev/null`; the parent's own
/// `FileHandle.standardOutput` and the like: inherited). Only these two types conform.
public protocol ChildProcessStream: AnyObject {}

extension Pipe: ChildProcessStream {}

extension FileHandle: ChildProcessStream {}
