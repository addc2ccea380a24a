package hss

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/configs"
)

// subscriber is one IMS subscription. Fields are guarded by db.mu.
type subscriber struct {
	impi    string
	impus   []string
	msisdns []string
	k, opc  []byte
	amf     uint16
	sqn     uint64
	state   as.UserState
	repo    map[string]*repoEntry
	locked  map[string]bool // repository update in progress (4101)
	// unavailable makes every Sh request for the user answer DIAMETER_USER_DATA_NOT_AVAILABLE.
	unavailable bool
	gussTime    time.Time
}

type repoEntry struct {
	seq  uint32
	data []byte
}

// db is the simulator's subscriber store, in memory.
type db struct {
	mu        sync.Mutex
	byIMPU    map[string]*subscriber
	byIMPI    map[string]*subscriber
	byMSISDN  map[string]*subscriber
	open      []string
	openState as.UserState
}

func parseState(s string) (as.UserState, bool) {
	switch strings.ToUpper(s) {
	case "", "NOT_REGISTERED", "0":
		return as.NotRegistered, true
	case "REGISTERED", "1":
		return as.Registered, true
	case "REGISTERED_UNREG_SERVICES", "2":
		return as.RegisteredUnregServices, true
	case "AUTHENTICATION_PENDING", "3":
		return as.AuthenticationPending, true
	}
	return 0, false
}

func newDB(subs *configs.Subscribers, open []string, openState as.UserState) (*db, error) {
	d := &db{byIMPU: map[string]*subscriber{}, byIMPI: map[string]*subscriber{}, byMSISDN: map[string]*subscriber{}, openState: openState}
	for _, o := range open {
		d.open = append(d.open, strings.ToLower(o))
	}
	now := time.Now()
	for i, s := range subs.Subscribers {
		st, _ := parseState(s.State)
		sub := &subscriber{impi: s.IMPI, impus: s.IMPUs, state: st, repo: map[string]*repoEntry{}, locked: map[string]bool{}, gussTime: now}
		var err error
		if sub.k, err = hex.DecodeString(s.K); err != nil {
			return nil, fmt.Errorf("subscribers[%d].k: %w", i, err)
		}
		if sub.opc, err = hex.DecodeString(s.OPc); err != nil {
			return nil, fmt.Errorf("subscribers[%d].opc: %w", i, err)
		}
		if s.AMF != "" {
			v, err := strconv.ParseUint(s.AMF, 16, 16)
			if err != nil {
				return nil, fmt.Errorf("subscribers[%d].amf: %w", i, err)
			}
			sub.amf = uint16(v)
		}
		if s.SQN != "" {
			if sub.sqn, err = strconv.ParseUint(s.SQN, 16, 48); err != nil {
				return nil, fmt.Errorf("subscribers[%d].sqn: %w", i, err)
			}
		}
		for si, data := range s.RepositoryData {
			sub.repo[si] = &repoEntry{seq: 0, data: []byte(data)}
		}
		for _, u := range s.IMPUs {
			d.byIMPU[u] = sub
			if n, ok := strings.CutPrefix(u, "tel:"); ok {
				n = strings.TrimPrefix(n, "+")
				sub.msisdns = append(sub.msisdns, n)
				d.byMSISDN[n] = sub
			}
		}
		d.byIMPI[s.IMPI] = sub
	}
	return d, nil
}

// maxOpenSubscribers bounds the identities open provisioning remembers.
const maxOpenSubscribers = 1 << 20

// byPublic finds the subscriber owning a public identity, creating it under open
// provisioning. Callers hold d.mu.
func (d *db) byPublic(impu string) (*subscriber, bool) {
	if s, ok := d.byIMPU[impu]; ok {
		return s, true
	}
	user, host, ok := strings.Cut(strings.TrimPrefix(impu, "sip:"), "@")
	if !ok || !strings.HasPrefix(impu, "sip:") || user == "" || strings.ContainsAny(host, ";?>") {
		return nil, false
	}
	for _, o := range d.open {
		if strings.EqualFold(host, o) {
			s := &subscriber{impi: user + "@" + strings.ToLower(host), impus: []string{impu}, state: d.openState,
				repo: map[string]*repoEntry{}, locked: map[string]bool{}, gussTime: time.Now()}
			if len(d.byIMPU) < maxOpenSubscribers {
				d.byIMPU[impu] = s
			}
			return s, true
		}
	}
	return nil, false
}
