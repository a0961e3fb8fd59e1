package fakesource

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// controlRoutes serves /_sim/: never faulted, never authenticated, never counted.
func (s *Sim) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.Stats()) })
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.CurrentFaults()) })
	mux.HandleFunc("POST /_sim/faults", s.ctlFaults)
	mux.HandleFunc("POST /_sim/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]any{"reset": true})
	})
	mux.HandleFunc("GET /_sim/credentials", func(w http.ResponseWriter, r *http.Request) {
		s.learnBaseURL(r)
		writeJSON(w, http.StatusOK, s.Credentials(s.base()))
	})
	mux.HandleFunc("GET /_sim/{system}/{object}/{id}", func(w http.ResponseWriter, r *http.Request) {
		rec, err := s.Record(r.PathValue("system"), r.PathValue("object"), r.PathValue("id"))
		if err != nil {
			ctlError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, rec)
	})
	mux.HandleFunc("PATCH /_sim/{system}/{object}/{id}", func(w http.ResponseWriter, r *http.Request) {
		var fields map[string]any
		if err := readJSON(r, &fields); err != nil || fields == nil {
			ctlError(w, errors.Join(ErrInvalid, errors.New("body must be a JSON object of fields")))
			return
		}
		sys, obj, id := r.PathValue("system"), r.PathValue("object"), r.PathValue("id")
		if err := s.StaffEdit(sys, obj, id, fields); err != nil {
			ctlError(w, err)
			return
		}
		rec, _ := s.Record(sys, obj, id)
		writeJSON(w, http.StatusOK, rec)
	})
	mux.HandleFunc("POST /_sim/{system}/{object}", func(w http.ResponseWriter, r *http.Request) {
		var fields map[string]any
		if err := readJSON(r, &fields); err != nil || fields == nil {
			ctlError(w, errors.Join(ErrInvalid, errors.New("body must be a JSON object of fields")))
			return
		}
		var opts []CreateOption
		if ms := r.URL.Query().Get("modstamp"); ms != "" {
			t, err := time.Parse(time.RFC3339Nano, ms)
			if err != nil {
				ctlError(w, errors.Join(ErrInvalid, errors.New("modstamp must be RFC 3339")))
				return
			}
			opts = append(opts, WithModstamp(t))
		}
		sys, obj := r.PathValue("system"), r.PathValue("object")
		id, err := s.CreateRecord(sys, obj, fields, opts...)
		if err != nil {
			ctlError(w, err)
			return
		}
		rec, _ := s.Record(sys, obj, id)
		writeJSON(w, http.StatusCreated, map[string]any{"id": id, "record": rec})
	})
	mux.HandleFunc("DELETE /_sim/{system}/{object}/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.DeleteRecord(r.PathValue("system"), r.PathValue("object"), r.PathValue("id")); err != nil {
			ctlError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// faultsRequest is the POST /_sim/faults body: a system name plus the Faults fields.
type faultsRequest struct {
	System string `json:"system"`
	Faults
}

func (s *Sim) ctlFaults(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	var req faultsRequest
	if err := dec.Decode(&req); err != nil {
		ctlError(w, errors.Join(ErrInvalid, err))
		return
	}
	if err := s.SetFaults(req.System, req.Faults); err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.CurrentFaults())
}

func ctlError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, ErrInvalid):
		code = http.StatusBadRequest
	}
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
