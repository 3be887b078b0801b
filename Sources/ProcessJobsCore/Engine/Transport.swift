/// How the engine sends requests. The engine knows only this; libcurl lives behind it.
public protocol Transport: AnyObject {
    /// Starts sending `request`; its completion comes back from `wait` with the same tag.
    func start(_ request: Request, tag: Int)
    /// Waits at most `timeout` seconds for transfers to finish, for the stop signal's wake-up, or
    /// for `descriptor` (the database socket while a statement is out) to become readable, and
    /// returns the transfers that finished.
    func wait(timeout: Double, watching descriptor: Int32?) -> [Completion]
    /// Stops every transfer in flight at once and returns their tags.
    func abortAll() -> [Int]
}

extension Transport {
    public func wait(timeout: Double) -> [Completion] { wait(timeout: timeout, watching: nil) }
}

public struct Completion: Sendable {
    public let tag: Int
    public let exchange: Exchange
    /// Wall time of the request, for the log.
    public let seconds: Double

    public init(tag: Int, exchange: Exchange, seconds: Double) {
        self.tag = tag
        self.exchange = exchange
        self.seconds = seconds
    }
}
