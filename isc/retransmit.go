package isc

import (
	"bytes"
	"hash/maphash"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// responseCache is the compact form of the "Completed" state of non-INVITE server
// transactions over unreliable transports (RFC 3261 §17.2.2): for 64*T1 after a final
// response it keeps only what a retransmitted request needs, namely the response's wire
// bytes and destination, indexed by the transaction key of RFC 3261 §17.2.3. The server
// transaction itself ends as soon as the response is sent; a retransmission that arrives
// later is answered from here without reaching the presence core.
//
// Entries live in a ring of one-second buckets and expire a bucket at a time: no timer and
// no goroutine per entry. Response bytes are appended to per-bucket chunks and the index
// holds no pointers, so the garbage collector has little to scan however many entries
// there are. Memory is bounded by maxBytes: when a new entry would exceed it, the oldest
// buckets are dropped early.
type responseCache struct {
	now      func() time.Time
	start    time.Time
	lifetime int64 // seconds an entry is kept at least (64*T1, rounded up)
	maxBytes int
	seeds    [2]maphash.Seed

	mu      sync.Mutex
	index   map[txKey]cacheRef
	ring    []cacheBucket // slot sec % len(ring): the lifetime and the current second
	newest  int64         // second of the newest bucket advanced to
	bytes   int           // held: chunk capacity plus per-entry overhead
	evicted uint64        // entries dropped before their lifetime ended (bound reached)
}

// txKey is a 128-bit keyed hash of the RFC 3261 §17.2.3 transaction key. The seeds are
// random per process, so a collision (probability about n/2^128) cannot be provoked.
type txKey [2]uint64

// cacheRef locates one response: in the bucket of second sec, chunk chunk, at off.
type cacheRef struct {
	sec   uint32
	chunk uint32
	off   uint32
	n     uint32
}

type cacheBucket struct {
	sec    int64
	keys   []txKey
	chunks [][]byte // append-only; a chunk is dropped with its bucket, never reused
	bytes  int
}

const (
	// cacheChunk is the size of one response chunk; a larger response gets its own chunk.
	cacheChunk = 64 << 10
	// cacheEntryOverhead estimates the index and key-list bytes of one entry.
	cacheEntryOverhead = 64
	// cacheDestLen is the encoded destination in front of each response: 16-byte address,
	// 2-byte port, 1 byte saying whether the address is IPv4.
	cacheDestLen = 19
)

// newResponseCache keeps responses for at least lifetime, in at most maxBytes.
func newResponseCache(lifetime time.Duration, maxBytes int, now func() time.Time) *responseCache {
	secs := int64((lifetime + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	c := &responseCache{
		now:      now,
		start:    now(),
		lifetime: secs,
		maxBytes: maxBytes,
		seeds:    [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		index:    make(map[txKey]cacheRef),
		ring:     make([]cacheBucket, secs+1),
	}
	for i := range c.ring {
		c.ring[i].sec = -1
	}
	return c
}

// key hashes a transaction key (sip.ServerTxKeyMake of the request).
func (c *responseCache) key(txKey string) txKey {
	return [2]uint64{maphash.String(c.seeds[0], txKey), maphash.String(c.seeds[1], txKey)}
}

// second is the cache's clock: whole seconds since it was made (monotonic with time.Now).
func (c *responseCache) second() int64 {
	return int64(c.now().Sub(c.start) / time.Second)
}

// advance expires every bucket older than the lifetime, a whole bucket at a time.
// Called with mu held.
func (c *responseCache) advance(now int64) {
	if now <= c.newest {
		return
	}
	from := c.newest + 1
	if now-from >= int64(len(c.ring)) {
		from = now - int64(len(c.ring)) + 1
	}
	for sec := from; sec <= now; sec++ {
		c.drop(&c.ring[sec%int64(len(c.ring))])
	}
	c.newest = now
}

// drop empties a bucket and removes its entries from the index. Called with mu held.
func (c *responseCache) drop(b *cacheBucket) {
	if b.sec < 0 {
		return
	}
	for _, k := range b.keys {
		if ref, ok := c.index[k]; ok && int64(ref.sec) == b.sec {
			delete(c.index, k)
		}
	}
	c.bytes -= b.bytes
	*b = cacheBucket{sec: -1}
}

// get returns the cached response for key and where to send it.
func (c *responseCache) get(k txKey) ([]byte, netip.AddrPort, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.second()
	c.advance(now)
	ref, ok := c.index[k]
	if !ok || now-int64(ref.sec) > c.lifetime {
		return nil, netip.AddrPort{}, false
	}
	b := &c.ring[int64(ref.sec)%int64(len(c.ring))]
	rec := b.chunks[ref.chunk][ref.off : ref.off+ref.n]
	return rec[cacheDestLen:], decodeDest(rec[:cacheDestLen]), true
}

// put keeps a copy of the response wire bytes for key and returns it; false when they do
// not fit in the bound even after dropping every older bucket.
func (c *responseCache) put(k txKey, wire []byte, dst netip.AddrPort) ([]byte, bool) {
	need := cacheDestLen + len(wire)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.second()
	c.advance(now)
	if now > int64(^uint32(0)) {
		return nil, false // 136 years of uptime
	}
	b := &c.ring[now%int64(len(c.ring))]
	if b.sec != now {
		c.drop(b)
		b.sec = now
	}
	var chunk *[]byte
	grow := 0
	if n := len(b.chunks); n > 0 && cap(b.chunks[n-1])-len(b.chunks[n-1]) >= need {
		chunk = &b.chunks[n-1]
	} else {
		grow = max(cacheChunk, need)
	}
	for c.bytes+grow+cacheEntryOverhead > c.maxBytes {
		if !c.evictOldest(now) {
			return nil, false
		}
	}
	if grow > 0 {
		b.chunks = append(b.chunks, make([]byte, 0, grow))
		chunk = &b.chunks[len(b.chunks)-1]
		b.bytes += grow
		c.bytes += grow
	}
	off := len(*chunk)
	*chunk = appendDest(*chunk, dst)
	*chunk = append(*chunk, wire...)
	b.keys = append(b.keys, k)
	b.bytes += cacheEntryOverhead
	c.bytes += cacheEntryOverhead
	c.index[k] = cacheRef{sec: uint32(now), chunk: uint32(len(b.chunks) - 1), off: uint32(off), n: uint32(need)}
	return (*chunk)[off+cacheDestLen : off+need], true
}

// evictOldest drops the oldest bucket before now; false when there is none.
// Called with mu held.
func (c *responseCache) evictOldest(now int64) bool {
	var oldest *cacheBucket
	for i := range c.ring {
		b := &c.ring[i]
		if b.sec >= 0 && b.sec < now && (oldest == nil || b.sec < oldest.sec) {
			oldest = b
		}
	}
	if oldest == nil {
		return false
	}
	c.evicted += uint64(len(oldest.keys))
	c.drop(oldest)
	return true
}

// stats reports the live entries and the bytes held.
func (c *responseCache) stats() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.index), c.bytes
}

func appendDest(b []byte, dst netip.AddrPort) []byte {
	a := dst.Addr().As16()
	b = append(b, a[:]...)
	p := dst.Port()
	var v4 byte
	if dst.Addr().Is4() {
		v4 = 1
	}
	return append(b, byte(p>>8), byte(p), v4)
}

func decodeDest(b []byte) netip.AddrPort {
	a := netip.AddrFrom16([16]byte(b[:16]))
	if b[18] == 1 {
		a = a.Unmap()
	}
	return netip.AddrPortFrom(a, uint16(b[16])<<8|uint16(b[17]))
}

// defaultResponseCacheBytes bounds the response cache: about 250,000 responses, i.e. the
// full 32 s of Timer J at 8,000 requests/s.
const defaultResponseCacheBytes = 128 << 20

// completedKey is the RFC 3261 §17.2.3 key of a request whose final response the cache
// keeps: a non-INVITE request over an unreliable transport. Over TCP Timer J is zero
// (RFC 3261 §17.2.2) and nothing is cached. The key is sipgo's own (branch, sent-by and
// method; its RFC 2543 fallback for branches without the magic cookie), so the cache
// matches exactly what sipgo's transaction would have matched.
func (s *Server) completedKey(req *sip.Request) (txKey, bool) {
	if sip.IsReliable(req.Transport()) || req.IsInvite() || req.IsAck() {
		return txKey{}, false
	}
	k, err := sip.ServerTxKeyMake(req)
	if err != nil {
		return txKey{}, false
	}
	return s.completed.key(k), true
}

// retransmission answers a retransmitted request from the cache (RFC 3261 §17.2.2:
// "the server transaction MUST pass the final response to the transport layer for
// retransmission") and ends the transaction sipgo made for it; false when key is unknown.
func (s *Server) retransmission(key txKey, req *sip.Request, tx sip.ServerTransaction) bool {
	wire, dst, ok := s.completed.get(key)
	if !ok {
		return false
	}
	tx.Terminate()
	s.send(req, wire, dst)
	s.log.Debug("retransmission answered from cache", "method", req.Method.String(), "call_id", callID(req))
	return true
}

// complete caches res, the final response to req (key), ends sipgo's transaction and sends
// the cached bytes. It returns false, having done nothing, when it cannot cache (the
// destination is not an IP address and port, or the bound is reached): the caller then
// responds through sipgo's transaction, which runs Timer J itself.
func (s *Server) complete(key txKey, req *sip.Request, res *sip.Response, tx sip.ServerTransaction) bool {
	dst, err := netip.ParseAddrPort(res.Destination())
	if err != nil || dst.Addr().Zone() != "" {
		return false
	}
	buf, _ := s.wire.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	res.StringWrite(buf)
	wire, ok := s.completed.put(key, buf.Bytes(), dst)
	if buf.Cap() <= 64<<10 {
		s.wire.Put(buf)
	}
	if !ok {
		return false
	}
	tx.Terminate()
	s.send(req, wire, dst)
	return true
}

// send writes a cached response from the UDP listener. Unlike sipgo's UDP transport it
// does not refuse a response above 1300 bytes: RFC 3261 §18.2.2 sends responses over the
// transport the request came on.
func (s *Server) send(req *sip.Request, wire []byte, dst netip.AddrPort) {
	conn := s.n.udpConn()
	if conn == nil {
		return
	}
	if _, err := conn.WriteTo(wire, net.UDPAddrFromAddrPort(dst)); err != nil {
		s.log.Warn("cannot send response", "method", req.Method.String(), "call_id", callID(req), "err", err)
	}
}

// udpConn is the UDP listener, once Serve attached it.
func (n *Notifier) udpConn() net.PacketConn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.udp
}
