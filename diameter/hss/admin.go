package hss

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/imsps/imsps/as"
)

func xmlEscapeTo(w io.Writer, s string) error { return xml.EscapeText(w, []byte(s)) }

// AdminHandler is the HTTP admin API:
//
//	GET  /subscribers/{impu}          → {"impi":…, "impus":[…], "state":"REGISTERED"}
//	POST /subscribers/{impu}/state    body "NOT_REGISTERED" (or {"state":"…"}) → 204, PNRs sent
//
// impu is the public identity, percent-encoded where needed (sip:alice@example.com works as is).
func (h *HSS) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /subscribers/{impu}", func(w http.ResponseWriter, r *http.Request) {
		impu := r.PathValue("impu")
		h.db.mu.Lock()
		sub, ok := h.db.byPublic(impu)
		var out any
		if ok {
			out = map[string]any{"impi": sub.impi, "impus": sub.impus, "state": sub.state.String()}
		}
		h.db.mu.Unlock()
		if !ok {
			http.Error(w, "unknown user", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("POST /subscribers/{impu}/state", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1024))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		text := strings.TrimSpace(string(body))
		if strings.HasPrefix(text, "{") {
			var v struct {
				State string `json:"state"`
			}
			if err := json.Unmarshal(body, &v); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			text = v.State
		}
		st, ok := parseState(text)
		if !ok || text == "" {
			http.Error(w, "state: want NOT_REGISTERED, REGISTERED, REGISTERED_UNREG_SERVICES or AUTHENTICATION_PENDING", http.StatusBadRequest)
			return
		}
		err = h.SetUserState(r.Context(), as.AOR(r.PathValue("impu")), st)
		switch {
		case errors.Is(err, as.ErrUnknownUser):
			http.Error(w, "unknown user", http.StatusNotFound)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	return mux
}
