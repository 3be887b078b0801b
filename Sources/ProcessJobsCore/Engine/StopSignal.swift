#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGTERM and SIGINT as a counter plus a self-pipe, so a transport blocked in poll() wakes up;
/// SIGHUP as a counter of its own (reload the token files). The handlers only increment and
/// write(): both async-signal-safe.
public final class StopSignal: @unchecked Sendable {
    /// Read end of the pipe: a transport adds it to the descriptors it waits on.
    public let wakeDescriptor: Int32

    public init() {
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeDescriptor = fds[0]
        signalWriteDescriptor = fds[1]
    }

    /// Installs the handlers (once per process). SIGPIPE is ignored so a closed socket is an
    /// error, not a death; SIGUSR1 and SIGUSR2 mean nothing here, so they kill nothing either.
    public func install() {
        signal(SIGPIPE, SIG_IGN)
        signal(SIGUSR1, SIG_IGN)
        signal(SIGUSR2, SIG_IGN)
        Self.handle([SIGTERM, SIGINT]) { _ in
            signalCount += 1
            wakeWaiter()
        }
        Self.handle([SIGHUP]) { _ in
            hangupCount += 1
            wakeWaiter()
        }
    }

    private static func handle(_ signals: [Int32], with handler: @escaping @convention(c) (Int32) -> Void) {
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = handler
        #endif
        sigemptyset(&action.sa_mask)
        for number in signals { sigaction(number, &action, nil) }
    }

    /// How many stop signals have arrived; drains the pipe so the next wait blocks again.
    public func received() -> Int {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(wakeDescriptor, &buffer, buffer.count) > 0 {}
        return Int(signalCount)
    }

    /// How many SIGHUPs have arrived.
    public func hangups() -> Int { Int(hangupCount) }
}

// Globals because a C signal handler cannot capture context; written only by the handlers.
nonisolated(unsafe) private var signalCount: sig_atomic_t = 0
nonisolated(unsafe) private var hangupCount: sig_atomic_t = 0
nonisolated(unsafe) private var signalWriteDescriptor: Int32 = -1

extension StopSignal {
    /// Sleeps up to `seconds`, waking early on a stop signal (not on a SIGHUP); true when one arrived.
    public func sleep(seconds: Double) -> Bool {
        let clock = MonotonicClock()
        let deadline = clock.now() + seconds
        while received() == 0 {
            let left = deadline - clock.now()
            guard left > 0 else { return false }
            var descriptor = pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, Int32((left * 1000).rounded(.up)))
        }
        return true
    }
}

/// Wakes a wait on the pipe: write() is async-signal-safe.
private func wakeWaiter() {
    var byte: UInt8 = 1
    _ = write(signalWriteDescriptor, &byte, 1)
}
