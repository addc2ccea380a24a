package hss

import (
	"errors"
	"testing"

	"github.com/imsps/imsps/diameter/dict"
	"github.com/imsps/imsps/diameter/peer"
	"github.com/imsps/imsps/diameter/shdata"
)

func TestUpdateRepositorySequence(t *testing.T) {
	const si = "S"
	tests := []struct {
		name    string
		stored  *repoEntry
		locked  bool
		seq     uint32
		data    []byte
		want    error
		wantSeq uint32
		gone    bool
	}{
		{"TS29.328 §6.1.2.1: create with 0", nil, false, 0, []byte("<a/>"), nil, 0, false},
		{"TS29.328 §6.1.2.1: create with non-zero is out of sync", nil, false, 1, []byte("<a/>"), peer.Experimental(dict.ErrorTransparentDataOutOfSync), 0, true},
		{"TS29.328 §6.1.2.1: update with stored+1", &repoEntry{seq: 7, data: []byte("x")}, false, 8, []byte("<b/>"), nil, 8, false},
		{"TS29.328 §6.1.2.1: update with 0 when stored is out of sync", &repoEntry{seq: 7}, false, 0, []byte("<b/>"), peer.Experimental(dict.ErrorTransparentDataOutOfSync), 7, false},
		{"TS29.328 §6.1.2.1: after 65535 comes 1", &repoEntry{seq: 65535}, false, 1, []byte("<c/>"), nil, 1, false},
		{"TS29.328 §6.1.2.1: after 65535, 0 is out of sync", &repoEntry{seq: 65535}, false, 0, []byte("<c/>"), peer.Experimental(dict.ErrorTransparentDataOutOfSync), 65535, false},
		{"TS29.328 §6.1.2.1: delete without ServiceData", &repoEntry{seq: 3}, false, 4, nil, nil, 0, true},
		{"TS29.329 §6.2.1.2: update in progress", &repoEntry{seq: 3}, true, 4, []byte("<d/>"), peer.Experimental(dict.PriorUpdateInProgress), 3, false},
	}
	h := &HSS{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub := &subscriber{repo: map[string]*repoEntry{}, locked: map[string]bool{si: tc.locked}}
			if tc.stored != nil {
				sub.repo[si] = tc.stored
			}
			err := h.updateRepository(sub, shdata.RepositoryData{ServiceIndication: si, SequenceNumber: tc.seq, ServiceData: tc.data})
			if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			e, ok := sub.repo[si]
			if ok == tc.gone {
				t.Fatalf("stored = %v, want gone %v", ok, tc.gone)
			}
			if ok && e.seq != tc.wantSeq {
				t.Fatalf("seq = %d, want %d", e.seq, tc.wantSeq)
			}
		})
	}
}

func TestDecodeTBCD(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want string
	}{{[]byte{0x51, 0x55, 0x10, 0x00}, "15550100"}, {[]byte{0x21, 0xf3}, "123"}, {nil, ""}} {
		if got := decodeTBCD(tc.in); got != tc.want {
			t.Errorf("TS29.002 TBCD %x = %q, want %q", tc.in, got, tc.want)
		}
	}
}
