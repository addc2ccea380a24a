// Package configs holds imsps's configuration files and embeds them, so that the built-in
// defaults are byte for byte the commented files in this folder, and parses the subscriber
// file that the HSS simulator, the BSF and the XCAP server share.
package configs
