package fakesource

import "net/http"

func (s *Sim) accountingRoutes(mux *http.ServeMux)                     {}
func (s *Sim) inventoryRoutes(mux *http.ServeMux)                      {}
func (s *Sim) controlRoutes(mux *http.ServeMux)                        {}
func qbRender(o *objectState, r *record) map[string]any                { return r.fields }
func (s *Sim) sqRenderLocked(o *objectState, r *record) map[string]any { return r.fields }

type webhooks struct{}

func newWebhooks(s *Sim) *webhooks                                     { return &webhooks{} }
func (h *webhooks) enqueueLocked(o *objectState, r *record, op string) {}
func (h *webhooks) stats() WebhookStats                                { return WebhookStats{} }
func (s *Sim) sign(key, msg string) string                             { return "" }

// Close stops webhook delivery.
func (s *Sim) Close() {}
