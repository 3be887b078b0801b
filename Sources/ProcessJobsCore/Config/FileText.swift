#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small file read whole, with its permission bits (to warn about a world-readable secret).
public struct FileText: Sendable {
    public let bytes: [UInt8]
    public let mode: UInt32

    public enum Failure: Error, Equatable {
        case missing
        case unreadable(String)
        case tooLarge
        /// A FIFO, a device, a directory: reading it could block forever or never end.
        case notRegular
    }

    /// Reads at most `limit` bytes of a regular file; a longer file is refused, not cut.
    public static func load(_ path: String, limit: Int = 1 << 20) throws(Failure) -> FileText {
        // O_NONBLOCK: opening a FIFO with no writer returns at once, so it can be refused below.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw .missing }
            throw .unreadable(String(cString: strerror(code)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notRegular }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadable(String(cString: strerror(errno)))
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > limit { throw .tooLarge }
        }
        return FileText(bytes: bytes, mode: UInt32(info.st_mode))
    }
}

extension FileText {
    /// A secret's file (the token, the signing secrets): a regular file of at most 64 KiB, read
    /// whole, each failure one line naming the file; a world-readable one is read with a warning.
    /// `holding` says what the file should hold alone, `plain` what to write into a plain file.
    static func secret(_ path: String, name: String, holding: String, plain: String, warn: (String) -> Void,
                       missing: (String) -> ConfigError) throws(ConfigError) -> String {
        let file: FileText
        do {
            file = try load(path, limit: 64 * 1024)
        } catch {
            switch error {
            case .missing: throw missing("\(name) \(path) does not exist")
            case .tooLarge: throw .configuration("\(name) \(path) is larger than 64 KiB: it should hold \(holding)")
            case .unreadable(let reason): throw .configuration("cannot read \(name) \(path): \(reason)")
            case .notRegular: throw .configuration("cannot read \(name) \(path): it is not a regular file (a FIFO, device or directory); write \(plain) into a plain file")
            }
        }
        if file.mode & 0o004 != 0 {
            warn("\(name) \(path) is readable by every user: chmod 600 it")
        }
        return String(decoding: file.bytes, as: UTF8.self)
    }
}
