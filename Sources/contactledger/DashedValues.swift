// ContactLedger — command-line client.
import ArgumentParser

/// Arguments that start with one `-` and are no option of the CLI, refused before parsing.
///
/// The CLI's only short option is `-h`, and ArgumentParser reads `-hi` as the short flags `-h -i`: a
/// value such as a message `-hi` or a group name `-health` printed the help and did nothing (exit status
/// 0), and one without an `h` (`-xyz`, a negative seq `-1`) was dropped with "Missing expected argument".
/// Such a value goes after `--`, or joined to its option (`--name=-hi`).
enum DashedValues {
    /// The options parsed `.unconditional`, whose value may start with `-` (`--after -5` is told what a
    /// seq must be, `--sort -name` sorts descending): the argument after one of them is its value. A test
    /// (`CLITests.optionsTakingAValueThatStartsWithADashStillTakeIt`) holds it to the help dump's list.
    static let optionsTakingAnyValue: Set<String> = [
        "--after", "--as-of", "--before", "--expected-version", "--from", "--limit", "--priority", "--since", "--sort",
        "--timeout", "--to", "--uid", "--until",
    ]

    /// The first argument before a `--` that starts with one `-` and is no option; nil when there is none.
    /// `-` alone (stdin) and `-h` (the help) are left.
    static func firstMistaken(in arguments: [String]) -> String? {
        var index = arguments.startIndex
        while index < arguments.endIndex, arguments[index] != "--" {
            let argument = arguments[index]
            if Self.optionsTakingAnyValue.contains(argument) {
                index += 2
                continue
            }
            if Self.isMistaken(argument) { return argument }
            index += 1
        }
        return nil
    }

    /// The refusal of `argument`, a value that starts with `-`: where it goes instead.
    static func refusal(of argument: String) -> ValidationError {
        ValidationError(
            "'\(argument)' is not an option: a value that starts with '-' goes after '--', which ends the options (… -- \(argument)), "
                + "or, for an option, joined to it (--name=\(argument))."
        )
    }

    /// Whether `argument` starts with one `-` and is neither `-` nor `-h`, the only short option: `-x`,
    /// `-)` or `-é` was read as an unknown option and dropped with "Missing expected argument" too.
    private static func isMistaken(_ argument: String) -> Bool {
        argument.hasPrefix("-") && !argument.hasPrefix("--") && argument != "-" && argument != "-h"
    }
}
