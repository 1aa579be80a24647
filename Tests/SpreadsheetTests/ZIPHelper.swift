// ContactLedger — spreadsheet tests.
import Foundation
import TestSupport

/// Builds a ZIP archive of text parts with the system `zip` tool, so the reader is tested on an
/// archive it did not write itself.
enum ZIPHelper {
    static func archive(_ parts: [String: String]) throws -> Data {
        let directory = NSTemporaryDirectory() + "xlsx-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (path, text) in parts {
            let url = URL(fileURLWithPath: directory + "/" + path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        let output = directory + ".zip"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let python = ChildProcess()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", """
            import os, sys, zipfile
            root, out = sys.argv[1], sys.argv[2]
            with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
                for base, _, files in os.walk(root):
                    for name in files:
                        full = os.path.join(base, name)
                        z.write(full, os.path.relpath(full, root))
            """, directory, output]
        try python.run()
        python.waitUntilExit()
        return try Data(contentsOf: URL(fileURLWithPath: output))
    }
}
