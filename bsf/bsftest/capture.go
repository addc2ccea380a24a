package bsftest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Capture records Diameter messages seen by a connection tap (the diameter/peer Tap
// signature) so a test can write them into a pcap and have tshark decode them.
type Capture struct {
	mu   sync.Mutex
	msgs []captured
}

type captured struct {
	out           bool
	local, remote string
	data          []byte
}

// Tap records one message; out is true when the tapped side sent it.
func (c *Capture) Tap(out bool, local, remote net.Addr, msg []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, captured{out: out, local: local.String(), remote: remote.String(), data: bytes.Clone(msg)})
}

// Len is the number of recorded messages.
func (c *Capture) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// PCAP renders the messages as IPv4/TCP segments (LINKTYPE_RAW). The tapped side of each
// connection is shown as 127.0.0.1:<40000+n>, its peer as 127.0.0.2:3868, so that tshark
// dissects Diameter on its registered port.
func (c *Capture) PCAP() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var buf bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 101) // LINKTYPE_RAW
	buf.Write(hdr)
	type conn struct {
		port uint16
		seq  [2]uint32 // tapped side, peer
	}
	conns := map[string]*conn{}
	for i, m := range c.msgs {
		key := m.local + "|" + m.remote
		cn := conns[key]
		if cn == nil {
			cn = &conn{port: uint16(40000 + len(conns)), seq: [2]uint32{1000, 500000}}
			conns[key] = cn
		}
		src, dst := [4]byte{127, 0, 0, 1}, [4]byte{127, 0, 0, 2}
		sport, dport := cn.port, uint16(3868)
		dir := 0
		if !m.out {
			src, dst, sport, dport, dir = dst, src, dport, sport, 1
		}
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(40+len(m.data)))
		ip[8], ip[9] = 64, 6
		copy(ip[12:], src[:])
		copy(ip[16:], dst[:])
		binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
		tcp := make([]byte, 20)
		binary.BigEndian.PutUint16(tcp[0:], sport)
		binary.BigEndian.PutUint16(tcp[2:], dport)
		binary.BigEndian.PutUint32(tcp[4:], cn.seq[dir])
		binary.BigEndian.PutUint32(tcp[8:], cn.seq[1-dir])
		tcp[12], tcp[13] = 5<<4, 0x18 // PSH, ACK
		binary.BigEndian.PutUint16(tcp[14:], 65535)
		cn.seq[dir] += uint32(len(m.data))
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[0:], uint32(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix())+uint32(i))
		binary.LittleEndian.PutUint32(rec[8:], uint32(40+len(m.data)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(40+len(m.data)))
		buf.Write(rec)
		buf.Write(ip)
		buf.Write(tcp)
		buf.Write(m.data)
	}
	return buf.Bytes()
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// Tshark writes the capture to dir/name, decodes it with tshark -V and returns the text and
// the problems it found: malformed packets, unknown AVPs, error or warning expert infos.
func (c *Capture) Tshark(dir, name string) (text string, problems []string, err error) {
	bin, err := exec.LookPath("tshark")
	if err != nil {
		return "", nil, fmt.Errorf("tshark is needed for the wire check (apt-get install -y tshark): %w", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, c.PCAP(), 0o600); err != nil {
		return "", nil, err
	}
	out, err := exec.Command(bin, "-n", "-r", path, "-V").CombinedOutput()
	if err != nil {
		return string(out), nil, fmt.Errorf("tshark: %w", err)
	}
	text = string(out)
	for _, bad := range []string{"Malformed", "Unknown AVP", "Expert Info (Error", "Expert Info (Warning"} {
		if strings.Contains(text, bad) {
			problems = append(problems, bad)
		}
	}
	return text, problems, nil
}
