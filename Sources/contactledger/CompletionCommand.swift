// ContactLedger — command-line client.
import ArgumentParser

extension ContactLedgerCommand {
    /// `completion SHELL`: prints the shell completion script (argument-parser's generator).
    struct Completion: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prints the completion script for bash, zsh or fish.",
            discussion: """
                Install it where your shell looks for completions, e.g.
                  contactledger completion bash > ~/.local/share/bash-completion/completions/contactledger
                  contactledger completion zsh  > ~/.zfunc/_contactledger     (with fpath+=~/.zfunc)
                  contactledger completion fish > ~/.config/fish/completions/contactledger.fish
                Tools/setup-and-run.sh and dist/install.sh install all three.
                """
        )

        /// A shell argument-parser can write completions for.
        struct Shell: ExpressibleByArgument {
            let shell: CompletionShell
            init?(argument: String) {
                guard let shell = CompletionShell(rawValue: argument) else { return nil }
                self.shell = shell
            }
            static var allValueStrings: [String] { CompletionShell.allCases.map(\.rawValue) }
        }

        @Argument(help: ArgumentHelp("The shell: bash, zsh or fish.", valueName: "shell"))
        var shell: Shell

        func run() throws {
            print(ContactLedgerCommand.completionScript(for: self.shell.shell))
        }
    }
}
