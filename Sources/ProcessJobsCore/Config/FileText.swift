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
