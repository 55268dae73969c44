package api

import (
	"net/http"
	"strings"
)

// access is who may call a route.
type access int

const (
	public access = iota // no token (health, readiness, the OpenAPI document)
	member               // any token of the organization
	admin                // an admin token
)

// route is one endpoint. The table below is the API: the mux is built
// from it, and a test checks it against openapi.json in both directions.
type route struct {
	Method  string
	Pattern string // net/http pattern syntax: /api/v1/jobs/{id}
	access  access
	stream  bool // an event stream: no write deadline
	handler http.HandlerFunc
}

func (a *API) routeTable() []route {
	return []route{
		{Method: "GET", Pattern: "/healthz", access: public, handler: a.healthz},
		{Method: "GET", Pattern: "/readyz", access: public, handler: a.readyz},
		{Method: "GET", Pattern: "/metrics", access: member, handler: a.serveMetrics},
		{Method: "GET", Pattern: "/api/v1/openapi.json", access: public, handler: a.openapi},

		{Method: "POST", Pattern: "/api/v1/jobs", access: admin, handler: a.createJob},
		{Method: "POST", Pattern: "/api/v1/jobs/estimate", access: member, handler: a.estimateJob},
		{Method: "GET", Pattern: "/api/v1/jobs", access: member, handler: a.listJobs},
		{Method: "GET", Pattern: "/api/v1/jobs/{id}", access: member, handler: a.getJob},
		{Method: "DELETE", Pattern: "/api/v1/jobs/{id}", access: admin, handler: a.cancelJob},
		{Method: "POST", Pattern: "/api/v1/jobs/{id}/pause", access: admin, handler: a.pauseJob},
		{Method: "POST", Pattern: "/api/v1/jobs/{id}/resume", access: admin, handler: a.resumeJob},
		{Method: "POST", Pattern: "/api/v1/jobs/{id}/budget", access: admin, handler: a.setBudget},
		{Method: "GET", Pattern: "/api/v1/jobs/{id}/items", access: member, handler: a.jobItems},
		{Method: "GET", Pattern: "/api/v1/jobs/{id}/logs", access: member, handler: a.jobLogs},
		{Method: "GET", Pattern: "/api/v1/jobs/{id}/events", access: member, stream: true, handler: a.jobEvents},

		{Method: "POST", Pattern: "/api/v1/projects", access: admin, handler: a.uploadProject},
		{Method: "GET", Pattern: "/api/v1/projects", access: member, handler: a.listProjects},
		{Method: "DELETE", Pattern: "/api/v1/projects/{id}", access: admin, handler: a.deleteProject},
		{Method: "GET", Pattern: "/api/v1/objects", access: member, handler: a.listObjects},
		{Method: "GET", Pattern: "/api/v1/objects/{id}", access: member, handler: a.getObject},
		{Method: "GET", Pattern: "/api/v1/objects/{id}/lineage", access: member, handler: a.getLineage},
		{Method: "GET", Pattern: "/api/v1/objects/{id}/documentation", access: member, handler: a.getDocumentation},
		{Method: "GET", Pattern: "/api/v1/objects/{id}/documentation/versions", access: member, handler: a.listDocVersions},
		{Method: "POST", Pattern: "/api/v1/objects/{id}/review", access: admin, handler: a.reviewObject},
		{Method: "GET", Pattern: "/api/v1/objects/{id}/review/history", access: member, handler: a.reviewHistory},
		{Method: "GET", Pattern: "/api/v1/review", access: member, handler: a.listReview},
		{Method: "POST", Pattern: "/api/v1/review/accept", access: admin, handler: a.acceptAll},

		{Method: "GET", Pattern: "/api/v1/provider-keys", access: member, handler: a.listKeys},
		{Method: "PUT", Pattern: "/api/v1/provider-keys/{provider}", access: admin, handler: a.putKey},
		{Method: "DELETE", Pattern: "/api/v1/provider-keys/{provider}", access: admin, handler: a.deleteKey},

		{Method: "GET", Pattern: "/api/v1/me", access: member, handler: a.me},
	}
}

// matches reports whether path fits the route's pattern, whatever the
// method ({name} matches one non-empty segment).
func (rt route) matches(path string) bool {
	ps := strings.Split(strings.Trim(rt.Pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") {
			if xs[i] == "" {
				return false
			}
			continue
		}
		if p != xs[i] {
			return false
		}
	}
	return true
}
