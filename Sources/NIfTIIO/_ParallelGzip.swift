internal import CZlib
import Foundation
import VolumeCore

// The only file that calls zlib's deflate. Raw pointers do not leave it.

/// One gzip member (RFC 1952) of a byte payload, compressed in independent chunks on several
/// threads, pigz's way.
///
/// **Stream.** The payload is cut into chunks of ``chunkBytes`` (the last one shorter). Each
/// chunk is compressed by its own raw deflate stream (zlib level 1, `Z_RLE`, no dictionary);
/// every chunk but the last ends with `Z_SYNC_FLUSH` — a byte-aligned empty stored block, so
/// no final-block bit — and the last with `Z_FINISH`. Their concatenation is one valid deflate
/// stream; the gzip header (mtime 0, XFL 4, OS 3 = Unix, as zlib's `gzopen` writes) goes in
/// front, the CRC-32 of the whole payload (chunk CRCs joined with `crc32_combine`) and its
/// length mod 2³² behind. Any gzip reader decodes it as one member.
///
/// **Determinism.** The cut depends only on the payload's length, never on `threads`: the
/// bytes are identical for every thread count.
///
/// **Ratio.** Without a dictionary a chunk cannot refer back into the previous one; with
/// `Z_RLE` (distance-1 matches only) that costs one literal per chunk, plus 5 bytes of flush
/// marker: ~0.001 % on a 1 mm brain. Z_RLE because interpolated Float32 voxels have few long
/// matches beyond runs of background (see ``LibNIfTIWrite``'s note).
enum ParallelGzip {
    /// Input bytes per chunk (a multiple of 8, so chunks start on voxel boundaries of every
    /// datatype once the 352-byte header is counted).
    static let chunkBytes = 1 << 20

    /// The gzip member of a payload of `count` bytes, kept as the compressed chunks.
    final class Member {
        fileprivate var header: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 3]
        fileprivate var chunks: [UnsafeMutableRawBufferPointer] = []
        fileprivate var trailer: [UInt8] = []

        deinit { for c in chunks { c.deallocate() } }

        /// Compressed size in bytes.
        var count: Int { header.count + chunks.reduce(0) { $0 + $1.count } + trailer.count }

        /// Calls `body` with each piece of the stream, in order.
        func forEachPiece(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
            try header.withUnsafeBytes(body)
            for c in chunks { try body(UnsafeRawBufferPointer(c)) }
            try trailer.withUnsafeBytes(body)
        }

        /// The whole stream in one array (tests).
        var bytes: [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(count)
            forEachPiece { out.append(contentsOf: $0) }
            return out
        }
    }

    struct Failure: Error { var reason: String }

    /// Compresses the payload `buffer` (`buffer.count` bytes) chunk by chunk on up to `threads`
    /// threads; `fill(range)` is called once per chunk, on the worker, before that chunk is
    /// compressed, to produce the payload bytes `range` in `buffer` (so that encoding and
    /// compressing share one pass over the data while it is in cache).
    static func compress(_ buffer: UnsafeMutableRawBufferPointer, threads: Int,
                         fill: (Range<Int>) -> Void) throws -> Member {
        let total = buffer.count
        let n = max(1, (total + chunkBytes - 1) / chunkBytes)
        struct Slot { var out: UnsafeMutableRawBufferPointer?; var crc: UInt; var status: Int32 }
        let slots = UnsafeMutableBufferPointer<Slot>.allocate(capacity: n)
        slots.initialize(repeating: Slot(out: nil, crc: 0, status: Z_OK))
        defer { slots.deallocate() }
        parallelChunks(n, threads: threads) { c in
            let range = (c * chunkBytes)..<min(total, (c + 1) * chunkBytes)
            fill(range)
            let r = deflateChunk(UnsafeMutableRawBufferPointer(rebasing: buffer[range]), last: c == n - 1)
            slots[c] = Slot(out: r.out, crc: r.crc, status: r.status)
        }
        let member = Member()
        var crc: UInt = 0
        var failure: String?
        for c in 0..<n {
            let s = slots[c]
            if let out = s.out { member.chunks.append(out) }
            if s.status != Z_OK && failure == nil { failure = "zlib deflate failed on chunk \(c) (status \(s.status))" }
            let len = chunkRange(c, total)
            crc = c == 0 ? s.crc : crc32_combine(crc, s.crc, off_t(len))
        }
        if let failure { throw Failure(reason: failure) }
        let size = UInt32(truncatingIfNeeded: total)
        for shift in stride(from: 0, to: 32, by: 8) { member.trailer.append(UInt8(truncatingIfNeeded: UInt32(crc) >> UInt32(shift))) }
        for shift in stride(from: 0, to: 32, by: 8) { member.trailer.append(UInt8(truncatingIfNeeded: size >> UInt32(shift))) }
        return member
    }

    private static func chunkRange(_ c: Int, _ total: Int) -> Int {
        min(total, (c + 1) * chunkBytes) - c * chunkBytes
    }

    /// One chunk as raw deflate (sync-flushed unless `last`), with its CRC-32.
    private static func deflateChunk(_ input: UnsafeMutableRawBufferPointer, last: Bool)
        -> (out: UnsafeMutableRawBufferPointer?, crc: UInt, status: Int32) {
        var s = z_stream()
        var status = deflateInit2_(&s, 1, Z_DEFLATED, -15, 8, Z_RLE, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { return (nil, 0, status) }
        defer { deflateEnd(&s) }
        // deflateBound covers Z_FINISH; a sync flush adds an empty stored block (5 bytes).
        let capacity = Int(deflateBound(&s, UInt(input.count))) + 16
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        s.next_in = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
        s.avail_in = UInt32(input.count)
        s.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
        s.avail_out = UInt32(capacity)
        status = deflate(&s, last ? Z_FINISH : Z_SYNC_FLUSH)
        let done = last ? status == Z_STREAM_END : (status == Z_OK && s.avail_out > 0)
        guard done, s.avail_in == 0 else {
            out.deallocate()
            return (nil, 0, status == Z_OK || status == Z_STREAM_END ? Z_BUF_ERROR : status)
        }
        let used = capacity - Int(s.avail_out)
        let crc = crc32(0, input.baseAddress?.assumingMemoryBound(to: Bytef.self), UInt32(input.count))
        return (UnsafeMutableRawBufferPointer(rebasing: out[0..<used]), crc, Z_OK)
    }
}

/// Writing bytes to a new file with POSIX calls, every status checked (libnifti's writer
/// reports none): `open(O_CREAT | O_EXCL)`, `write` until done, `fsync`, `close`.
enum RawFile {
    /// Creates `path` (mode 0666 less the umask; it must not exist) holding the pieces that
    /// `produce` hands to its argument, in order, flushed to disk. Returns the bytes written.
    static func create(_ path: String, _ produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw ParallelGzip.Failure(reason: "cannot create the file (\(String(cString: strerror(errno))))") }
        var closed = false
        defer { if !closed { close(fd) } }
        var written = 0
        try produce { piece in
            var done = 0
            while done < piece.count {
                let n = write(fd, piece.baseAddress! + done, piece.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ParallelGzip.Failure(reason: "write failed (\(String(cString: strerror(errno)))); is the disk full?")
                }
                done += n
            }
            written += done
        }
        guard fsync(fd) == 0 else { throw ParallelGzip.Failure(reason: "flushing the file failed (\(String(cString: strerror(errno))))") }
        closed = true
        guard close(fd) == 0 else { throw ParallelGzip.Failure(reason: "closing the file failed (\(String(cString: strerror(errno))))") }
        return written
    }
}
