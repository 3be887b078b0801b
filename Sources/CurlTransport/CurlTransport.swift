#if canImport(Glibc)
import Glibc
#endif
import CCurl
import ProcessJobsCore

/// The engine's Transport on libcurl's multi interface: many POSTs in flight on one thread,
/// connections kept alive and reused (HTTP/2 multiplexed where the app offers it), TLS always
/// verified, proxies from the environment as libcurl reads them. libcurl is loaded and
/// initialised on the first request, so a run with nothing due never pays for it.
public final class CurlTransport: Transport {
    public struct Options: Sendable {
        public var requestTimeout: Double
        public var connectTimeout: Double
        /// Bytes of an answer kept; a longer answer is cut and the transfer stopped there.
        public var bodyCap: Int
        /// Connections to keep open to the app.
        public var maxConnections: Int
        /// CA certificates to verify the app against instead of the system's (a private CA);
        /// verification itself is never switched off.
        public var caBundle: String?

        public init(requestTimeout: Double, connectTimeout: Double = 10, bodyCap: Int = 64 * 1024,
                    maxConnections: Int, caBundle: String? = nil) {
            self.requestTimeout = requestTimeout
            self.connectTimeout = connectTimeout
            self.bodyCap = bodyCap
            self.maxConnections = maxConnections
            self.caBundle = caBundle
        }
    }

    private let options: Options
    /// Bodies up to this size are copied into libcurl (cheaper than the 64 KiB upload buffer it
    /// allocates per handle for a read callback); larger ones are read from the request in place.
    static let copiedBodyLimit = 64 * 1024
    private let wakeDescriptor: Int32?
    private var multi: OpaquePointer?
    private var transfers: [Int: Transfer] = [:]
    private var idleHandles: [OpaquePointer] = []
    /// Requests that could not start because libcurl could not be loaded; reported by `wait`.
    private var unstarted: [Completion] = []

    public init(options: Options, wakeDescriptor: Int32?) {
        self.options = options
        self.wakeDescriptor = wakeDescriptor
    }

    deinit {
        _ = abortAll()
        idleHandles.forEach { pj_easy_cleanup(UnsafeMutableRawPointer($0)) }
        if let multi { pj_multi_cleanup(UnsafeMutableRawPointer(multi)) }
    }

    /// The multi handle, loading libcurl first; the reason when it cannot be loaded.
    private func multiHandle() -> Result<UnsafeMutableRawPointer, TransportFailure> {
        if let multi { return .success(UnsafeMutableRawPointer(multi)) }
        if let error = pj_curl_load() {
            return .failure(.notSent("libcurl could not be loaded (\(String(cString: error))): install libcurl4"))
        }
        pj_global_init(Int(CURL_GLOBAL_DEFAULT))
        let handle = pj_multi_init()!
        _ = pj_multi_setopt_long(handle, CURLMOPT_MAX_HOST_CONNECTIONS, options.maxConnections)
        _ = pj_multi_setopt_long(handle, CURLMOPT_MAXCONNECTS, options.maxConnections)
        multi = OpaquePointer(handle)
        return .success(handle)
    }

    public func start(_ request: Request, tag: Int) {
        let multi: UnsafeMutableRawPointer
        switch multiHandle() {
        case .success(let handle): multi = handle
        case .failure(let failure):
            unstarted.append(Completion(tag: tag, exchange: .failure(failure), seconds: 0))
            return
        }
        let easy = idleHandles.popLast().map { UnsafeMutableRawPointer($0) } ?? newHandle()
        let transfer = Transfer(tag: tag, easy: easy, cap: options.bodyCap, url: request.url, requestBody: request.body)
        transfers[tag] = transfer
        let context = Unmanaged.passUnretained(transfer).toOpaque()

        // An empty Expect: stops libcurl waiting for "100 Continue" before large bodies.
        for header in request.headers + ["Expect:"] {
            transfer.headerList = pj_slist_append(transfer.headerList, header)
        }
        _ = pj_easy_setopt_str(easy, CURLOPT_URL, request.url)
        // Over TLS, requests started together wait for the first handshake to say (by ALPN)
        // whether the connection multiplexes (HTTP/2) instead of each opening its own: one
        // handshake, not one per request slot. Plain http is HTTP/1.1, where waiting would hold
        // every request behind the first answer.
        _ = pj_easy_setopt_long(easy, CURLOPT_PIPEWAIT, request.url.hasPrefix("https://") ? 1 : 0)
        _ = pj_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(transfer.requestBody.utf8.count))
        if transfer.requestBody.utf8.count <= Self.copiedBodyLimit {
            _ = pj_easy_setopt_str(easy, CURLOPT_COPYPOSTFIELDS, transfer.requestBody)
        } else {
            // Read from the transfer's String as it goes out: a big body is never copied.
            _ = pj_easy_setopt_ptr(easy, CURLOPT_POSTFIELDS, nil)
            _ = pj_easy_setopt_ptr(easy, CURLOPT_READDATA, context)
            _ = pj_easy_setopt_ptr(easy, CURLOPT_SEEKDATA, context)
        }
        _ = pj_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, UnsafeRawPointer(transfer.headerList))
        _ = pj_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, context)
        _ = pj_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, context)
        _ = pj_easy_setopt_ptr(easy, CURLOPT_PRIVATE, context)
        _ = pj_easy_setopt_ptr(easy, CURLOPT_ERRORBUFFER, transfer.errorBuffer)
        pj_multi_add_handle(multi, easy)
    }

    /// A handle with the options every request shares; a pooled handle keeps them, so only
    /// the per-request ones are set again.
    private func newHandle() -> UnsafeMutableRawPointer {
        let easy = pj_easy_init()!
        _ = pj_easy_setopt_long(easy, CURLOPT_POST, 1)
        _ = pj_easy_setopt_write(easy, CURLOPT_WRITEFUNCTION, bodyCallback)
        _ = pj_easy_setopt_write(easy, CURLOPT_HEADERFUNCTION, headerCallback)
        _ = pj_easy_setopt_write(easy, CURLOPT_READFUNCTION, bodyReadCallback)
        _ = pj_easy_setopt_seek(easy, CURLOPT_SEEKFUNCTION, bodySeekCallback)  // to send again on a fresh connection
        _ = pj_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, milliseconds(options.requestTimeout))
        _ = pj_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(min(options.connectTimeout, options.requestTimeout)))
        _ = pj_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = pj_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)  // a redirected POST is reported, not followed
        _ = pj_easy_setopt_str(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = pj_easy_setopt_str(easy, CURLOPT_ACCEPT_ENCODING, "")  // every encoding libcurl can decode
        _ = pj_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        // Answers are small JSON: a 2 KiB receive buffer per transfer instead of libcurl's 16 KiB
        // keeps a hundred transfers in flight light (a larger body is simply read in more calls).
        _ = pj_easy_setopt_long(easy, CURLOPT_BUFFERSIZE, 2 * 1024)
        if let caBundle = options.caBundle { _ = pj_easy_setopt_str(easy, CURLOPT_CAINFO, caBundle) }
        return easy
    }

    public func wait(timeout: Double, watching descriptor: Int32?) -> [Completion] {
        if !unstarted.isEmpty {
            defer { unstarted = [] }
            return unstarted
        }
        let descriptors = [wakeDescriptor, descriptor].compactMap { $0 }
        guard !transfers.isEmpty, let multi else {
            sleepUntilReadable(descriptors, timeout: timeout)
            return []
        }
        let handle = UnsafeMutableRawPointer(multi)
        var running: Int32 = 0
        pj_multi_perform(handle, &running)
        var finished = collect()
        if !finished.isEmpty { return finished }
        var extra = descriptors.map { curl_waitfd(fd: $0, events: Int16(CURL_WAIT_POLLIN), revents: 0) }
        pj_multi_poll(handle, &extra, UInt32(extra.count), Int32(milliseconds(timeout)), nil)
        pj_multi_perform(handle, &running)
        finished = collect()
        return finished
    }

    public func abortAll() -> [Int] {
        let tags = Array(transfers.keys)
        for tag in tags {
            guard let transfer = transfers.removeValue(forKey: tag) else { continue }
            if let multi { pj_multi_remove_handle(UnsafeMutableRawPointer(multi), transfer.easy) }
            // A cut transfer's connection state is unknown: do not put its handle back in the pool.
            pj_easy_cleanup(transfer.easy)
            transfer.release()
        }
        return tags
    }

    /// Finished transfers, each turned into an exchange and its handle put back in the pool.
    private func collect() -> [Completion] {
        guard let multi else { return [] }
        var completions: [Completion] = []
        var remaining: Int32 = 0
        while let message = pj_multi_info_read(UnsafeMutableRawPointer(multi), &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            var context: UnsafeMutableRawPointer?
            _ = privatePointer(easy, &context)
            guard let context else { continue }
            let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
            completions.append(Completion(tag: transfer.tag, exchange: exchange(transfer, code: code),
                                          seconds: Double(info(easy, CURLINFO_TOTAL_TIME_T)) / 1e6))
            pj_multi_remove_handle(UnsafeMutableRawPointer(multi), easy)
            transfers[transfer.tag] = nil
            // The buffers are freed next: the pooled handle must not point at them.
            _ = pj_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, nil)
            _ = pj_easy_setopt_ptr(easy, CURLOPT_ERRORBUFFER, nil)
            transfer.release()
            if idleHandles.count < options.maxConnections { idleHandles.append(OpaquePointer(easy)) } else { pj_easy_cleanup(easy) }
        }
        return completions
    }

    private func exchange(_ transfer: Transfer, code: CURLcode) -> Exchange {
        let easy = transfer.easy
        if code == CURLE_OK || (code == CURLE_WRITE_ERROR && transfer.truncated) {
            var status = 0
            _ = pj_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            return .response(Response(status: status, body: transfer.body, truncated: transfer.truncated,
                                      headers: transfer.headers))
        }
        let detail = transfer.errorText.isEmpty ? String(cString: pj_easy_strerror(code)) : transfer.errorText
        // A proxy that refused the CONNECT (401/403/407, …): only the proxy saw anything.
        var connectCode = 0
        _ = pj_easy_getinfo_long(easy, CURLINFO_HTTP_CONNECTCODE, &connectCode)
        if connectCode != 0 && !(200..<300).contains(connectCode) {
            let proxy = ProxyName.forURL(transfer.url) { getenv($0).map { String(cString: $0) } }
            return .failure(.notSent("request not sent: the proxy \(proxy) refused to open a tunnel to the app (HTTP \(connectCode)) (curl \(code.rawValue))"))
        }
        var requestBytes = 0
        _ = pj_easy_getinfo_long(easy, CURLINFO_REQUEST_SIZE, &requestBytes)
        if requestBytes == 0 {
            return .failure(.notSent("request not sent: \(detail) (curl \(code.rawValue))"))
        }
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return .failure(.timedOut("timed out after \(formatSeconds(options.requestTimeout))"))
        case CURLE_WEIRD_SERVER_REPLY, CURLE_UNSUPPORTED_PROTOCOL:
            return .failure(.broken("the app's answer is not valid HTTP: \(detail) (curl \(code.rawValue))"))
        // libcurl refuses a header line over 100 KiB as "Out of memory" (27), headers over
        // 300 KiB in all as a receive error (56), and newer versions say CURLE_TOO_LARGE (100).
        case CURLE_OUT_OF_MEMORY, CURLcode(rawValue: 100):
            return .failure(.broken("the app's answer headers exceed libcurl's limit (100 KiB for one header, 300 KiB in all) (curl \(code.rawValue))"))
        case CURLE_RECV_ERROR where detail.hasPrefix("Too large response headers"):
            return .failure(.broken("the app's answer headers exceed libcurl's limit (100 KiB for one header, 300 KiB in all): \(detail) (curl \(code.rawValue))"))
        default:
            return .failure(.broken("connection lost after sending: \(detail) (curl \(code.rawValue))"))
        }
    }

    private func sleepUntilReadable(_ descriptors: [Int32], timeout: Double) {
        guard timeout > 0 else { return }
        var polled = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        _ = poll(&polled, nfds_t(polled.count), Int32(milliseconds(timeout)))
    }

    private func info(_ easy: UnsafeMutableRawPointer, _ what: CURLINFO) -> Int64 {
        var value: curl_off_t = 0
        _ = pj_easy_getinfo_off(easy, what, &value)
        return Int64(value)
    }
}

private func milliseconds(_ seconds: Double) -> Int {
    Int((seconds * 1000).rounded(.up))
}

private func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
}

/// CURLINFO_PRIVATE hands back the pointer stored with CURLOPT_PRIVATE.
private func privatePointer(_ easy: UnsafeMutableRawPointer, _ out: inout UnsafeMutableRawPointer?) -> CURLcode {
    var raw: UnsafeMutableRawPointer?
    let code = withUnsafeMutablePointer(to: &raw) { pj_easy_getinfo_ptr(easy, CURLINFO_PRIVATE, $0) }
    out = raw
    return code
}

/// One request's buffers, alive from start to completion.
final class Transfer {
    let tag: Int
    let easy: UnsafeMutableRawPointer
    let cap: Int
    /// Where it goes, to name the proxy in an error.
    let url: String
    /// The request body, and how much of it libcurl has read.
    var requestBody: String
    var bodyOffset = 0
    var body: [UInt8] = []
    var truncated = false
    var headers = ResponseHeaders()
    var headerList: UnsafeMutablePointer<curl_slist>?
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))

    init(tag: Int, easy: UnsafeMutableRawPointer, cap: Int, url: String, requestBody: String) {
        self.tag = tag
        self.easy = easy
        self.cap = cap
        self.url = url
        self.requestBody = requestBody
        self.requestBody.makeContiguousUTF8()  // a no-op for the engine's (native) strings
        errorBuffer.initialize(to: 0)
    }

    var errorText: String { String(cString: errorBuffer) }

    /// Frees the C buffers; called once the handle no longer refers to them.
    func release() {
        pj_slist_free_all(headerList)
        headerList = nil
        errorBuffer.deallocate()
    }
}

/// Keeps the answer up to the cap; past it, stops the transfer (libcurl reports a write error,
/// which `exchange` reads as a complete, truncated answer).
private let bodyCallback: curl_write_callback = { data, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    let length = size * count
    let room = transfer.cap - transfer.body.count
    if length > room {
        transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: room))
        transfer.truncated = true
        return 0
    }
    transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
    return length
}

/// Hands libcurl the next part of the request body.
private let bodyReadCallback: curl_read_callback = { buffer, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    guard let buffer else { return 0 }
    let copied = transfer.requestBody.utf8.withContiguousStorageIfAvailable { utf8 -> Int in
        let length = min(size * count, utf8.count - transfer.bodyOffset)
        guard length > 0 else { return 0 }
        UnsafeMutableRawPointer(buffer).copyMemory(from: utf8.baseAddress! + transfer.bodyOffset, byteCount: length)
        return length
    } ?? 0
    transfer.bodyOffset += copied
    return copied
}

/// Rewinds the body (libcurl sends it again when a reused connection turns out closed).
private let bodySeekCallback: curl_seek_callback = { context, offset, origin in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    guard origin == SEEK_SET, offset >= 0, offset <= transfer.requestBody.utf8.count else { return CURL_SEEKFUNC_CANTSEEK }
    transfer.bodyOffset = Int(offset)
    return CURL_SEEKFUNC_OK
}

/// Picks out Retry-After, Date and Location; a new status line (after "100 Continue") starts over.
/// Matches on bytes: a String is made only for the three headers kept.
private let headerCallback: curl_write_callback = { data, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    let length = size * count
    guard let data, length > 0 else { return length }
    let line = UnsafeBufferPointer(start: UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: length)
    switch line[0] | 0x20 {  // lowercase ASCII letter
    case UInt8(ascii: "h") where line.starts(with: "HTTP/".utf8):
        transfer.headers = ResponseHeaders()
    case UInt8(ascii: "r"):
        if let value = headerValue(line, named: "retry-after") { transfer.headers.retryAfter = value }
    case UInt8(ascii: "d"):
        if let value = headerValue(line, named: "date") { transfer.headers.date = value }
    case UInt8(ascii: "l"):
        if let value = headerValue(line, named: "location") { transfer.headers.location = value }
    default:
        break
    }
    return length
}

/// The value of a header line when its name is `name` (lowercase), without surrounding blanks.
private func headerValue(_ line: UnsafeBufferPointer<UInt8>, named name: StaticString) -> String? {
    let count = name.utf8CodeUnitCount
    guard line.count > count, line[count] == UInt8(ascii: ":") else { return nil }
    for offset in 0..<count where line[offset] | 0x20 != name.utf8Start[offset] { return nil }
    var start = count + 1, end = line.count
    while start < end, line[start] == 0x20 || line[start] == 0x09 { start += 1 }
    while end > start, [0x20, 0x09, 0x0D, 0x0A].contains(line[end - 1]) { end -= 1 }
    return String(decoding: UnsafeBufferPointer(rebasing: line[start..<end]), as: UTF8.self)
}
