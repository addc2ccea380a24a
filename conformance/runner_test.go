package conformance

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// startUAS runs a SIP server that answers every PUBLISH with code.
func startUAS(t *testing.T, code int) string {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnPublish(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, code, "Test", nil)
		res.AppendHeader(sip.NewHeader("SIP-ETag", "e-"+string(*req.CallID())))
		res.AppendHeader(sip.NewHeader("Expires", "3600"))
		tx.Respond(res)
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUDP(conn)
	t.Cleanup(func() { conn.Close(); srv.Close(); ua.Close() })
	return conn.LocalAddr().String()
}

func TestRunReportsPassAndFail(t *testing.T) {
	flows := []Flow{{Name: "one-publish", Spec: "RFC 3903 §4.2", Steps: []Step{
		{Label: "P1", SIP: publish("pua", "t1", "open", "e")},
		{Label: "P2", SIP: &SIPRequest{Actor: "pua", Method: "PUBLISH", To: "${aor:presentity}", From: "${aor:presentity}",
			Headers: []Header{eventPresence, {"SIP-If-Match", "${var:e}"}}, Expect: Expect{Status: 200}}},
	}}}
	tests := []struct {
		name     string
		code     int
		wantPass bool
		wantErr  string
	}{
		{"server answering 200 passes", 200, true, ""},
		{"server answering 500 fails at the first step", 500, false, "status 500, want 200"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := startUAS(t, tc.code)
			rep := Run(context.Background(), Target{SIP: addr, Domain: "example.com"}, flows)
			f := rep.Flows[0]
			if f.Passed() != tc.wantPass {
				var b strings.Builder
				rep.WriteText(&b)
				t.Fatalf("Passed() = %v, want %v\n%s", f.Passed(), tc.wantPass, b.String())
			}
			if tc.wantErr != "" && (len(f.Steps) != 1 || f.Steps[0].Err != tc.wantErr) {
				t.Fatalf("steps %+v, want one failing with %q", f.Steps, tc.wantErr)
			}
			var html bytes.Buffer
			if err := rep.WriteHTML(&html); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(html.String(), "<svg") || !strings.Contains(html.String(), "PUBLISH sip:presentity-") {
				t.Fatal("HTML report lacks the ladder diagram")
			}
		})
	}
}

func TestSubstitutionNeedsSavedVariables(t *testing.T) {
	r := &run{t: Target{Domain: "example.com", XUI: "sip:alice@example.com"}, id: "r1", vars: map[string]string{"e": "x1"}}
	got, err := r.subst("${aor:bob} ${domain} ${xui} ${var:e}")
	if err != nil || got != "sip:bob-r1@example.com example.com sip:alice@example.com x1" {
		t.Fatalf("subst = %q, %v", got, err)
	}
	if _, err := r.subst("${var:missing}"); err == nil {
		t.Fatal("a missing variable was not reported")
	}
}
