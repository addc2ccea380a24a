package pcap

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"time"
)

// Writer records messages; safe for concurrent use by several taps.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	err     error
	streams map[string]*stream
	// ServerPort replaces the server side's port, so dissectors find their default port.
	ServerPort uint16
}

type stream struct {
	cli, srv       net.TCPAddr
	cliSeq, srvSeq uint32
}

// New writes the pcap header to w.
func New(w io.Writer, serverPort uint16) *Writer {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 262144)
	binary.LittleEndian.PutUint32(h[20:], 1) // Ethernet
	_, err := w.Write(h)
	return &Writer{w: w, err: err, streams: map[string]*stream{}, ServerPort: serverPort}
}

// Tap records one message from the client side of a connection: out means client to server.
// It matches peer.Tap.
func (p *Writer) Tap(out bool, local, remote net.Addr, msg []byte) {
	cli, _ := local.(*net.TCPAddr)
	srv, _ := remote.(*net.TCPAddr)
	if cli == nil || srv == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	key := cli.String() + "|" + srv.String()
	s := p.streams[key]
	if s == nil {
		s = &stream{cli: *cli, srv: *srv, cliSeq: 1000, srvSeq: 5000}
		s.srv.Port = int(p.ServerPort)
		p.streams[key] = s
		p.segment(s, true, 0x02, nil) // SYN
		s.cliSeq++
		p.segment(s, false, 0x12, nil) // SYN-ACK
		s.srvSeq++
		p.segment(s, true, 0x10, nil) // ACK
	}
	p.segment(s, out, 0x18, msg) // PSH, ACK
	if out {
		s.cliSeq += uint32(len(msg))
	} else {
		s.srvSeq += uint32(len(msg))
	}
}

func (p *Writer) segment(s *stream, fromCli bool, flags byte, payload []byte) {
	if p.err != nil {
		return
	}
	src, dst := s.cli, s.srv
	seq, ack := s.cliSeq, s.srvSeq
	if !fromCli {
		src, dst = dst, src
		seq, ack = ack, seq
	}
	if flags == 0x02 {
		ack = 0
	}
	f := make([]byte, 14+20+20+len(payload))
	copy(f[0:6], []byte{2, 0, 0, 0, 0, byte(dst.Port)})
	copy(f[6:12], []byte{2, 0, 0, 0, 0, byte(src.Port)})
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+20+len(payload)))
	ip[6] = 0x40 // DF
	ip[8] = 64
	ip[9] = 6
	copy(ip[12:16], src.IP.To4())
	copy(ip[16:20], dst.IP.To4())
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	tcp := f[34:54]
	binary.BigEndian.PutUint16(tcp[0:], uint16(src.Port))
	binary.BigEndian.PutUint16(tcp[2:], uint16(dst.Port))
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12] = 5 << 4
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	copy(f[54:], payload)
	binary.BigEndian.PutUint16(tcp[16:], tcpChecksum(ip, f[34:]))
	rec := make([]byte, 16)
	now := time.Now()
	binary.LittleEndian.PutUint32(rec[0:], uint32(now.Unix()))
	binary.LittleEndian.PutUint32(rec[4:], uint32(now.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(rec[8:], uint32(len(f)))
	binary.LittleEndian.PutUint32(rec[12:], uint32(len(f)))
	if _, p.err = p.w.Write(rec); p.err == nil {
		_, p.err = p.w.Write(f)
	}
}

func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func tcpChecksum(ip, seg []byte) uint16 {
	pseudo := make([]byte, 12+len(seg))
	copy(pseudo[0:8], ip[12:20])
	pseudo[9] = 6
	binary.BigEndian.PutUint16(pseudo[10:], uint16(len(seg)))
	copy(pseudo[12:], seg)
	return checksum(pseudo)
}

// Err is the first write error.
func (p *Writer) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}
