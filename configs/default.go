package configs

import _ "embed"

// Default is configs/imsps.yaml as shipped: the built-in configuration of imsps serve,
// commented key by key.
//
//go:embed imsps.yaml
var Default []byte
