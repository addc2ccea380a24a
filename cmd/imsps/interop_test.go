package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imsps/imsps/conformance"
)

// SIPp, a real SIP peer, publishes, subscribes, receives the published tuple in the NOTIFY,
// answers it and unsubscribes (conformance/sipp/publish_subscribe.xml).
func TestSIPpPublishSubscribeInterop(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp is required (apt-get install -y sip-tester): ", err)
	}
	s := startStack(t, testConfig(t))
	dir := t.TempDir()
	users := filepath.Join(dir, "users.csv")
	os.WriteFile(users, []byte("SEQUENTIAL\nalice;example.com\nbob;example.com\ncarol;example.com\n"), 0o600)
	for _, transport := range []string{"u1", "t1"} {
		target := s.addr["sip.udp"].String()
		if transport == "t1" {
			target = s.addr["sip.tcp"].String()
		}
		cmd := exec.CommandContext(t.Context(), sipp, target,
			"-sf", "../../conformance/sipp/publish_subscribe.xml", "-inf", users,
			"-m", "3", "-r", "3", "-t", transport, "-i", "127.0.0.1", "-p", "0",
			"-timeout", "20s", "-timeout_error", "-recv_timeout", "5000", "-nostdin", "-trace_err",
			"-error_file", filepath.Join(dir, "errors-"+transport+".log"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			errs, _ := os.ReadFile(filepath.Join(dir, "errors-"+transport+".log"))
			t.Fatalf("sipp -t %s: %v\n%s\n%s", transport, err, tail(string(out), 15), errs)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Every SIP message imsps sends and receives in the conformance flows decodes in tshark
// with no malformed-packet or other expert warning.
func TestSIPWireFormatDecodesInTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Fatal("tshark is required (apt-get install -y tshark): ", err)
	}
	s := startStack(t, testConfig(t))
	udp, tcp := s.addr["sip.udp"].String(), s.addr["sip.tcp"].String()
	_, udpPort, _ := strings.Cut(udp, "127.0.0.1:")
	_, tcpPort, _ := strings.Cut(tcp, "127.0.0.1:")
	pcap := filepath.Join(t.TempDir(), "sip.pcap")
	capture := exec.Command(tshark, "-i", "lo", "-n", "-f", "udp port "+udpPort+" or tcp port "+tcpPort, "-w", pcap)
	stderr, _ := capture.StderrPipe()
	if err := capture.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Capturing on") {
				close(started)
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		capture.Process.Kill()
		t.Fatal("tshark did not start capturing")
	}
	for _, tr := range []struct{ addr, name string }{{udp, "udp"}, {tcp, "tcp"}} {
		rep := conformance.Run(t.Context(), conformance.Target{SIP: tr.addr, Transport: tr.name, Domain: "example.com"}, conformance.SIPFlows())
		if _, failed := rep.Counts(); failed > 0 {
			var b strings.Builder
			rep.WriteText(&b)
			t.Fatal(b.String())
		}
	}
	capture.Process.Signal(syscall.SIGINT)
	capture.Wait()

	decode := []string{"-r", pcap, "-n", "-d", "udp.port==" + udpPort + ",sip", "-d", "tcp.port==" + tcpPort + ",sip"}
	// Warnings and errors only: TCP's SYN/FIN chat items are not faults.
	bad, err := exec.Command(tshark, append(decode, "-Y", "_ws.malformed || _ws.expert.severity >= 0x600000")...).Output()
	if err != nil {
		t.Fatalf("tshark -r: %v\n%s", err, bad)
	}
	if len(strings.TrimSpace(string(bad))) > 0 {
		t.Errorf("frames with malformed or warning expert items:\n%s", bad)
	}
	out, err := exec.Command(tshark, append(decode, "-Y", "sip", "-T", "fields", "-e", "sip.Method", "-e", "sip.Status-Code")...).Output()
	if err != nil {
		t.Fatalf("tshark -r: %v\n%s", err, out)
	}
	methods := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		method, status, _ := strings.Cut(line, "\t")
		methods[method+status]++
	}
	for _, want := range []string{"PUBLISH", "SUBSCRIBE", "NOTIFY", "200", "412", "489", "481"} {
		if methods[want] == 0 {
			t.Errorf("no %s decoded as SIP in the capture (decoded: %v)", want, methods)
		}
	}
}
