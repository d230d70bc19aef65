package sim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// faultsJSON is Faults on the control API (PUT/GET /sim/faults); durations in ms.
type faultsJSON struct {
	SlowCreateMS           int64 `json:"slow_create_ms"`
	SlowDetailMS           int64 `json:"slow_detail_ms"`
	CreateUnavailable      int   `json:"create_unavailable"`
	CreateHTTP500          int   `json:"create_http500"`
	LoseNotifications      bool  `json:"lose_notifications"`
	DuplicateNotifications int   `json:"duplicate_notifications"`
	TamperMontant          bool  `json:"tamper_montant"`
	ForceSaisieT           bool  `json:"force_saisie_t"`
}

func toFaultsJSON(f Faults) faultsJSON {
	return faultsJSON{
		SlowCreateMS: f.SlowCreate.Milliseconds(), SlowDetailMS: f.SlowDetail.Milliseconds(),
		CreateUnavailable: f.CreateUnavailable, CreateHTTP500: f.CreateHTTP500,
		LoseNotifications: f.LoseNotifications, DuplicateNotifications: f.DuplicateNotifications,
		TamperMontant: f.TamperMontant, ForceSaisieT: f.ForceSaisieT,
	}
}

func (j faultsJSON) faults() Faults {
	return Faults{
		SlowCreate: time.Duration(j.SlowCreateMS) * time.Millisecond, SlowDetail: time.Duration(j.SlowDetailMS) * time.Millisecond,
		CreateUnavailable: j.CreateUnavailable, CreateHTTP500: j.CreateHTTP500,
		LoseNotifications: j.LoseNotifications, DuplicateNotifications: j.DuplicateNotifications,
		TamperMontant: j.TamperMontant, ForceSaisieT: j.ForceSaisieT,
	}
}

// autoJSON is AutoPay on the control API; {} (no result) disables it.
type autoJSON struct {
	Result  string `json:"result,omitempty"`
	DelayMS int64  `json:"delay_ms,omitempty"`
}

type payJSON struct {
	IDOp       string `json:"idop"`
	Resultrans string `json:"resultrans"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeJSONError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return false
	}
	return true
}

func (s *Simulator) handleCtlPay(w http.ResponseWriter, r *http.Request) {
	var in payJSON
	if !readJSON(w, r, &in) {
		return
	}
	p, err := s.pay(in.IDOp, in.Resultrans)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, p)
	case errors.Is(err, ErrBadResult):
		writeJSONError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrAlreadyFinished):
		writeJSONError(w, http.StatusConflict, err.Error())
	default:
		writeJSONError(w, http.StatusNotFound, err.Error())
	}
}

func (s *Simulator) handleCtlGetFaults(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, toFaultsJSON(f))
}

func (s *Simulator) handleCtlPutFaults(w http.ResponseWriter, r *http.Request) {
	var in faultsJSON
	if !readJSON(w, r, &in) {
		return
	}
	if in.SlowCreateMS < 0 || in.SlowDetailMS < 0 || in.CreateUnavailable < 0 || in.CreateHTTP500 < 0 || in.DuplicateNotifications < 0 {
		writeJSONError(w, http.StatusBadRequest, "negative values are not allowed")
		return
	}
	s.SetFaults(in.faults())
	writeJSON(w, http.StatusOK, in)
}

func (s *Simulator) handleCtlGetAuto(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	var out autoJSON
	if s.auto != nil {
		out = autoJSON{Result: s.auto.Result, DelayMS: s.auto.Delay.Milliseconds()}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Simulator) handleCtlPutAuto(w http.ResponseWriter, r *http.Request) {
	var in autoJSON
	if !readJSON(w, r, &in) {
		return
	}
	var a *AutoPay
	if in.Result != "" {
		if in.DelayMS < 0 {
			writeJSONError(w, http.StatusBadRequest, "delay_ms must not be negative")
			return
		}
		a = &AutoPay{Result: in.Result, Delay: time.Duration(in.DelayMS) * time.Millisecond}
	}
	if err := s.SetAuto(a); err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, in)
}

func (s *Simulator) handleCtlPayment(w http.ResponseWriter, r *http.Request) {
	p, ok := s.Payment(r.PathValue("idop"))
	if !ok {
		writeJSONError(w, http.StatusNotFound, ErrUnknownPayment.Error())
		return
	}
	writeJSON(w, http.StatusOK, p)
}
