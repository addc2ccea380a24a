package main

import (
	"errors"
	"time"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/bsf"
	"github.com/imsps/imsps/configs"
	"github.com/imsps/imsps/diameter/hss"
	"github.com/imsps/imsps/diameter/sh"
	"github.com/imsps/imsps/isc"
	"github.com/imsps/imsps/ut"
)

// Config is the whole configuration; each section belongs to one package.
type Config struct {
	Log       LogConfig           `yaml:"log"`
	Runtime   RuntimeConfig       `yaml:"runtime"`
	Data      string              `yaml:"data"`
	Store     StoreConfig         `yaml:"store"`
	Presence  as.Config           `yaml:"presence"`
	SIP       isc.Config          `yaml:"sip"`
	XCAP      ut.Config           `yaml:"xcap"`
	Sh        sh.Config           `yaml:"sh"`
	HSS       hss.Config          `yaml:"hss"`
	BSF       bsf.Config          `yaml:"bsf"`
	AuthProxy bsf.AuthProxyConfig `yaml:"authproxy"`
	Metrics   MetricsConfig       `yaml:"metrics"`
}

// DefaultConfig is the lab profile; configs/imsps.yaml spells out the same values.
func DefaultConfig() Config {
	return Config{
		Log:       LogConfig{Format: "text", Level: "info"},
		Runtime:   RuntimeConfig{GCPercent: 800, MemoryLimitMiB: 4096},
		Data:      "./data",
		Store:     StoreConfig{LockTimeout: 2 * time.Second, BatchSize: 1000},
		Presence:  as.DefaultConfig(),
		SIP:       isc.DefaultConfig(),
		XCAP:      ut.DefaultConfig(),
		Sh:        sh.DefaultConfig(),
		HSS:       hss.DefaultConfig(),
		BSF:       bsf.DefaultConfig(),
		AuthProxy: bsf.DefaultAuthProxyConfig(),
		Metrics:   MetricsConfig{Listen: "127.0.0.1:9090"},
	}
}

// Validate checks every section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	if c.Data == "" {
		errs = append(errs, errors.New("data: empty; name the data directory"))
	}
	if c.Store.LockTimeout <= 0 {
		errs = append(errs, errors.New("store.lock_timeout: must be positive"))
	}
	if c.Runtime.GCPercent <= 0 && c.Runtime.GCPercent != -1 {
		errs = append(errs, errors.New("runtime.gc_percent: must be positive, or -1 to turn the collector off"))
	}
	if c.Runtime.MemoryLimitMiB < 0 {
		errs = append(errs, errors.New("runtime.memory_limit_mib: must not be negative"))
	}
	if c.Store.BatchSize <= 0 {
		errs = append(errs, errors.New("store.batch_size: must be positive"))
	}
	if _, err := newLogger(c.Log, nil); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Presence.Validate(), c.SIP.Validate(), c.XCAP.Validate(), c.Sh.Validate(), c.HSS.Validate(), c.BSF.Validate(), c.AuthProxy.Validate())
	return errors.Join(errs...)
}

func defaultConfigYAML() []byte { return configs.Default }
