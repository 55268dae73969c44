package api

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"github.com/modeldoc/modeldoc"
)

//go:embed openapi.json
var openapiJSON []byte

// OpenAPI returns the embedded OpenAPI 3 document.
func OpenAPI() []byte { return openapiJSON }

func (a *API) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapiJSON)
}

// healthz says the process serves HTTP; it touches nothing else.
func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether the process can do its work: the store answers and
// every migration this binary knows has been applied.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := map[string]string{"store": "ok", "migrations": "ok"}
	ready := true
	if err := a.st.Ping(ctx); err != nil {
		a.log.Warn("api: readiness: store unreachable", "err", err)
		checks["store"], checks["migrations"], ready = "unreachable", "unknown", false
	} else if ok, err := a.st.MigrationsApplied(ctx); err != nil || !ok {
		if err != nil {
			a.log.Warn("api: readiness: migrations", "err", err)
		}
		checks["migrations"], ready = "pending", false
	}
	if !ready {
		p := problemFor(errorf(codeUnavailable, "Not ready: the store is unreachable or its migrations have not all been applied."))
		p.Instance = r.URL.Path
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(p.Status)
		writeBody(w, map[string]any{"type": p.Type, "title": p.Title, "status": p.Status, "detail": p.Detail, "code": p.Code, "checks": checks})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}

// serveMetrics shows the figures of the token's organization only: the
// store holds every organization's jobs and spend, and one organization's
// token must not read another's. Any role will do, because a member can
// read every job of its organization, tokens and cost included, through
// the API already, and Prometheus needs no more than a read-only token.
// The operator's view of all organizations is on --metrics-addr.
func (a *API) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if a.metrics == nil {
		a.writeError(w, r, modeldoc.Errorf(modeldoc.ENOTFOUND, "Metrics are not enabled on this server."))
		return
	}
	if a.cfg.MetricsElsewhere {
		a.writeError(w, r, modeldoc.Errorf(modeldoc.ENOTFOUND, "Metrics are served on the operator's metrics address (serve --metrics-addr), not here."))
		return
	}
	a.metrics.OrgHandler(principalOf(r.Context()).orgID).ServeHTTP(w, r)
}

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	org, err := a.st.GetOrganization(r.Context(), p.orgID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, meAnswer{TokenID: p.tokenID, TokenName: p.name, Role: p.role, OrgID: org.ID, Organization: org.Name})
}
