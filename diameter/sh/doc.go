// Package sh is imsps's Sh client (TS 29.328/29.329), the AS side: UDR, PUR, SNR and PNR
// over diameter/peer, with a bounded TTL cache and one request per user at a time.
// Client implements as.Directory and tells an as.UserStateListener about IMS state changes.
package sh
