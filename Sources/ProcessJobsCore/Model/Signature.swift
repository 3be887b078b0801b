import CLibCrypto

/// The Standard Webhooks signature: HMAC-SHA256 over "id.timestamp.body" with each key,
/// computed by OpenSSL's libcrypto (already linked through libpq), never by hand.
public enum Signature {
    /// The webhook-signature header's value: "v1,<base64 MAC>" per key, separated by spaces,
    /// so an app that knows any one of the keys (during a rotation) verifies the request.
    public static func header(id: String, timestamp: Int, body: String, keys: [[UInt8]]) -> String {
        let message = Array("\(id).\(timestamp).\(body)".utf8)
        return keys.map { "v1," + Base64.encode(hmacSHA256(key: $0, message: message)) }.joined(separator: " ")
    }

    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let done = key.withUnsafeBytes { key in
            message.withUnsafeBytes { message in
                mac.withUnsafeMutableBytes { mac in
                    HMAC(EVP_sha256(), key.baseAddress, Int32(key.count),
                         message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count,
                         mac.baseAddress?.assumingMemoryBound(to: UInt8.self), &length)
                }
            }
        }
        // HMAC fails only without memory or with a broken libcrypto: signing nothing would send
        // requests the app must refuse, so stop loudly instead.
        precondition(done != nil && length == 32, "libcrypto's HMAC-SHA256 failed")
        return Array(mac.prefix(Int(length)))
    }
}
