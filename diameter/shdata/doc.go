// Package shdata is the Sh-Data XML document of TS 29.328 Annex D (the User-Data of Sh):
// public identifiers, repository data with its SequenceNumber rule, and Sh-IMS-Data.
// Both the Sh client (diameter/sh) and the HSS simulator (diameter/hss) use it.
package shdata
