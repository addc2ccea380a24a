// Package dict holds imsps's Diameter dictionaries (base RFC 6733, Sh TS 29.329, Zh and Zn TS 29.109)
// and the codes of their applications, commands, AVPs and results as typed Go constants.
// New builds a dictionary parser holding only the base protocol and the applications a peer serves.
package dict
