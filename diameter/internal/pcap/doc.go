// Package pcap writes Diameter messages seen by a peer.Tap into a pcap file with synthetic
// Ethernet/IPv4/TCP headers (a handshake per connection, then one segment per message),
// so that tshark can decode what imsps put on the wire. Tests only.
package pcap
