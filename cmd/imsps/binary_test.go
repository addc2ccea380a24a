package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imsps/imsps/conformance"
)

// buildBinary builds imsps once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "imsps")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a running imsps binary and the addresses it logged.
type process struct {
	cmd   *exec.Cmd
	addrs map[string]string

	mu  sync.Mutex
	log strings.Builder
}

func (p *process) logged(s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Contains(p.log.String(), s)
}

var listeningRE = regexp.MustCompile(`msg=listening listener=(\S+) addr=(\S+)`)

// startBinary runs `imsps serve --config cfg --data dir` and waits for every listener to be bound.
func startBinary(t *testing.T, bin, cfg, data string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, "serve", "--config", cfg, "--data", data), addrs: map[string]string{}}
	stderr, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				p.addrs[m[1]] = m[2]
			}
			if strings.Contains(line, "presence agent running") {
				close(ready)
			}
			p.mu.Lock()
			fmt.Fprintln(&p.log, line)
			p.mu.Unlock()
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("imsps serve did not start")
	}
	return p
}

// stop sends SIGTERM and returns the exit code.
func (p *process) stop(t *testing.T) int {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode()
			}
			t.Fatal(err)
		}
		return 0
	case <-time.After(20 * time.Second):
		t.Fatal("imsps did not stop on SIGTERM")
	}
	return -1
}

// The binary as an operator runs it: a config file, SIGTERM stops it cleanly (exit 0), and
// a publication and a subscription acknowledged before the stop are there after a restart:
// the watcher's dialog gets the next NOTIFY without subscribing again.
func TestBinaryStopsCleanlyAndKeepsState(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "imsps.yaml")
	// Port 0 everywhere; the Sh client and the BSF find the embedded HSS by its configured address.
	os.WriteFile(cfg, []byte(`log: {format: text, level: info}
sip: {udp: "127.0.0.1:0", tcp: "127.0.0.1:0"}
xcap: {listen: "127.0.0.1:0"}
hss: {listen: "127.0.0.1:0", admin_listen: ""}
sh: {peers: [{addr: "127.0.0.1:0", host: hss.example.com, realm: example.com}]}
bsf: {listen: "127.0.0.1:0", zh: {address: "127.0.0.1:0", origin_host: bsf.example.com, origin_realm: example.com, destination_realm: example.com}, zn: {address: "127.0.0.1:0", origin_host: bsf.example.com, origin_realm: example.com}}
authproxy: {listen: "127.0.0.1:0"}
metrics: {listen: ""}
`), 0o600)
	data := filepath.Join(dir, "data")

	p := startBinary(t, bin, cfg, data)
	target := conformance.Target{SIP: p.addrs["sip.udp"], Domain: "example.com", XUI: "sip:alice@example.com"}
	watcher := &conformance.SIPRequest{Actor: "w", Method: "SUBSCRIBE", To: "${xui}", From: "sip:bob@example.com", Dialog: "w",
		Headers: []conformance.Header{{Name: "Event", Value: "presence"}, {Name: "Expires", Value: "3600"}}, Expect: conformance.Expect{Status: 200}}
	rep := conformance.Run(t.Context(), target, []conformance.Flow{{Name: "before", Steps: []conformance.Step{
		publishStep("publish", "sip:alice@example.com", "kept", 200),
		{Label: "subscribe", SIP: watcher},
		{Label: "NOTIFY", Notify: &conformance.NotifyExpect{Actor: "w", Dialog: "w", BodyHas: []string{`id="kept"`}}},
	}}})
	if _, failed := rep.Counts(); failed > 0 {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatal(b.String())
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}

	p = startBinary(t, bin, cfg, data)
	fetch := conformance.Run(t.Context(), conformance.Target{SIP: p.addrs["sip.udp"], Domain: "example.com", XUI: "sip:alice@example.com"},
		[]conformance.Flow{{Name: "after", Steps: []conformance.Step{
			{Label: "fetch", SIP: &conformance.SIPRequest{Actor: "f", Method: "SUBSCRIBE", To: "${xui}", From: "sip:carol@example.com", Dialog: "f",
				Headers: []conformance.Header{{Name: "Event", Value: "presence"}, {Name: "Expires", Value: "0"}}, Expect: conformance.Expect{Status: 200}}},
			{Label: "publication kept", Notify: &conformance.NotifyExpect{Actor: "f", Dialog: "f", BodyHas: []string{`id="kept"`}}},
		}}})
	if _, failed := fetch.Counts(); failed > 0 {
		var b strings.Builder
		fetch.WriteText(&b)
		t.Fatal(b.String())
	}
	if !p.logged("subscriptions=1") {
		t.Fatal("restart did not restore the subscription")
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("second exit code = %d", code)
	}
}
