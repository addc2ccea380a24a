package bsf

import (
	"log/slog"

	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
)

// Register routes Zn BIRs (dict.Zn, dict.BootstrappingInfo) on a diameter/peer Mux to z.
func (z *ZnServer) Register(mux *peer.Mux) {
	mux.Handle(dict.Zn, dict.BootstrappingInfo, peer.HandlerFunc(z.ServeDiameter))
}

// NewZnPeerServer is a diameter/peer Server for the Zn interface alone: identity from cfg
// (bsf.zn), dictionary base + Zn, BIRs to z. Serve it on a listener at cfg.Address.
func NewZnPeerServer(cfg DiameterPeer, z *ZnServer, tap peer.Tap, log *slog.Logger) (*peer.Server, error) {
	d, err := dict.New(dict.Zn)
	if err != nil {
		return nil, err
	}
	mux := peer.NewMux()
	z.Register(mux)
	return peer.NewServer(peer.Options{
		Local: peer.Identity{OriginHost: cfg.OriginHost, OriginRealm: cfg.OriginRealm},
		Dict:  d, Mux: mux, Tap: tap, Log: log,
	})
}

// NewPeerClient is a diameter/peer Client towards cfg.Address (the HSS for Zh, the BSF for
// Zn) speaking app. Start it with go client.Run(ctx); pass it to NewZhClient or NewZnClient.
func NewPeerClient(cfg DiameterPeer, app dict.App, tap peer.Tap, log *slog.Logger) (*peer.Client, error) {
	d, err := dict.New(app)
	if err != nil {
		return nil, err
	}
	return peer.NewClient(peer.ClientOptions{
		Options: peer.Options{
			Local: peer.Identity{OriginHost: cfg.OriginHost, OriginRealm: cfg.OriginRealm},
			Dict:  d, Tap: tap, Log: log,
		},
		Peers: []peer.PeerConfig{{Addr: cfg.Address, Host: cfg.DestinationHost, Realm: cfg.DestinationRealm}},
	})
}
