import ProcessJobsCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The live progress line of a run by hand: redrawn in place on stderr while a terminal watches,
/// cleared before every log line (through the log sink's `before` hook) and at the end of the run.
/// Not made at all when stderr is not a terminal, or under journald.
final class ProgressDisplay: Sendable {
    private struct State {
        var shown = false
        var runStart = 0.0
        var lastDraw = -1.0
    }

    private let state = Mutex(State())
    private let clock = Stopwatch()
    /// Redraws at most this often.
    private let interval = 0.1

    /// A display when stderr is an interactive terminal, else nil.
    static func forTerminal(environment: [String: String]) -> ProgressDisplay? {
        guard isatty(2) == 1, (environment["JOURNAL_STREAM"] ?? "").isEmpty, environment["TERM"] != "dumb" else { return nil }
        return ProgressDisplay()
    }

    /// The log sink: stderr, clearing the progress line before each log line.
    var sink: LineSink {
        LineSink(descriptor: 2, before: { [self] in clear() })
    }

    /// A new run starts: its rate counts from now.
    func startRun() {
        let now = clock.seconds()
        state.withLock { $0.runStart = now; $0.lastDraw = -1 }
    }

    /// The Runner's observer.
    func update(_ progress: RunProgress) {
        let now = clock.seconds()
        let elapsed: Double? = state.withLock { state in
            guard state.lastDraw < 0 || now - state.lastDraw >= interval else { return nil }
            state.lastDraw = now
            state.shown = true
            return now - state.runStart
        }
        guard let elapsed else { return }
        let line = ProgressLine.text(progress, elapsed: elapsed, width: Self.width() - 1)
        Self.write("\r" + line + "\u{1B}[K")
    }

    /// Removes the line, if shown.
    func clear() {
        let shown = state.withLock { state in
            defer { state.shown = false }
            return state.shown
        }
        if shown { Self.write("\r\u{1B}[K") }
    }

    private static func write(_ text: String) {
        LineSink(descriptor: 2, before: nil).write(text)
    }

    /// The terminal's width (80 when unknown).
    private static func width() -> Int {
        var size = winsize()
        guard ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 10 else { return 80 }
        return Int(size.ws_col)
    }
}
