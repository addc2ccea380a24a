// Package hss is imsps's HSS simulator: Sh (TS 29.328/29.329: UDR, PUR, SNR, and PNR pushed on
// changes) and Zh (TS 29.109: MAR/MAA with Milenage vectors and GUSS) over the diameter/peer
// base protocol, a strict validator of requests, and an admin API to change a user's state.
package hss
