#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `--metrics-file`: replaced atomically (a temporary file in the same directory, renamed
/// over it), so node_exporter's textfile collector never reads half a file. The temporary name
/// does not end in `.prom`, so the collector never picks it up either.
public enum MetricsFile {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Checks up front that the file can be written: its directory exists and is writable, and
    /// the path is not a directory.
    public static func checkWritable(_ path: String) throws(Failure) {
        guard !path.isEmpty, !path.hasSuffix("/") else {
            throw Failure(description: "--metrics-file needs a file path (e.g. /var/lib/node_exporter/textfile_collector/process_jobs.prom)")
        }
        let directory = self.directory(of: path)
        var info = stat()
        guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw Failure(description: "--metrics-file: directory \(directory) does not exist: create it or choose another path")
        }
        guard access(directory, W_OK) == 0 else {
            throw Failure(description: "--metrics-file: directory \(directory) is not writable by this user: fix its permissions or choose another path")
        }
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw Failure(description: "--metrics-file: \(path) is a directory: give a file name in it")
        }
    }

    /// Writes `text` to `path` atomically, mode 0644 (the file holds no secrets; the collector
    /// usually runs as another user).
    public static func write(_ text: String, to path: String) throws(Failure) {
        let temporary = directory(of: path) + "/." + baseName(of: path) + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var failure: String?
        _ = fchmod(fd, 0o644)
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = "cannot write \(temporary): \(String(cString: strerror(errno)))"
                break
            }
            offset += written
        }
        if failure == nil, fsync(fd) != 0 { failure = "cannot sync \(temporary): \(String(cString: strerror(errno)))" }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 {
            failure = "cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))"
        }
        if let failure {
            unlink(temporary)
            throw Failure(description: failure)
        }
    }

    /// The file's text, or nil when it does not exist or cannot be read.
    public static func read(_ path: String) -> String? {
        guard let file = try? FileText.load(path, limit: 4 << 20) else { return nil }
        return String(decoding: file.bytes, as: UTF8.self)
    }

    /// The times a previous file recorded, to carry them past runs that do not set them.
    public static func carried(in text: String) -> RunMetrics.Carried {
        RunMetrics.Carried(lastSuccess: timestamp(RunMetrics.lastSuccessName, in: text),
                           lastClaim: timestamp(RunMetrics.lastClaimName, in: text))
    }

    /// The value of the unlabelled series `name`; nil when absent, unreadable or 0 (none known).
    private static func timestamp(_ name: String, in text: String) -> Double? {
        let prefix = name + " "
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            if let value = Double(line.dropFirst(prefix.count).split(separator: " ").first ?? ""),
               value.isFinite, value > 0 {
                return value
            }
        }
        return nil
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
