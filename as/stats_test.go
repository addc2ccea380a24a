package as_test

import (
	"testing"
	"testing/synctest"

	"github.com/imsps/imsps/as"
)

func TestStatsCountStateAndNotifies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := start(t, testConfig(), nil, nil)
		if got := f.a.Stats(); got != (as.Stats{}) {
			t.Fatalf("fresh agent: %+v", got)
		}
		f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "t1", "open")})
		f.mustPublish(as.PublishRequest{Body: pidfDoc(alice, "t2", "open")})
		f.mustPublish(as.PublishRequest{Presentity: "sip:carol@example.com", Body: pidfDoc("sip:carol@example.com", "t1", "open")})
		f.subscribe(alice, 600)
		synctest.Wait()
		got := f.a.Stats()
		want := as.Stats{Presentities: 2, Publications: 3, Subscriptions: 1, Notifies: 1}
		if got != want {
			t.Fatalf("Stats() = %+v, want %+v", got, want)
		}
	})
}
