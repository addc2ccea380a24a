package as_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainImportsNoProtocol checks the layering rule of the design: the presence core
// never imports a protocol or web library (style rule (a)).
func TestDomainImportsNoProtocol(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/imsps/imsps/as").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/emiago/sipgo", "github.com/gin-gonic/gin", "github.com/fiorix/go-diameter", "go.etcd.io/bbolt"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("as depends on %s", dep)
			}
		}
	}
}
