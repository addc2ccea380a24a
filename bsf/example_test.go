package bsf_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/imsps/imsps/as/store"
	"github.com/imsps/imsps/bsf"
	"github.com/imsps/imsps/configs"
)

// Example wires the lab profile of imsps serve: a BSF with local Milenage vectors, and the
// authentication proxy in front of an in-process XCAP handler, keys from the BSF in process.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open("data/imsps.db", store.DefaultOptions())
	if err != nil {
		return
	}
	defer db.Close()
	subs, _ := configs.LoadSubscribers("")
	vectors, _ := bsf.NewLocalVectors(subs)
	b, err := bsf.New(bsf.DefaultConfig(), vectors, db, log)
	if err != nil {
		return
	}
	users, _ := bsf.NewSubscriberData(subs)
	xcap := http.NotFoundHandler() // ut.Server.AssertedHandler() in imsps serve
	proxy, err := bsf.NewAuthProxy(bsf.DefaultAuthProxyConfig(), b, users, xcap, log, bsf.WithDigestUsers(users))
	if err != nil {
		return
	}
	ub, _ := net.Listen("tcp", bsf.DefaultConfig().Listen)
	ua, _ := net.Listen("tcp", bsf.DefaultAuthProxyConfig().Listen)
	go b.Serve(ctx, ub)
	go proxy.Serve(ctx, ua)
}
