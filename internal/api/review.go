package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

// Review (issue 15): members list what is to review, admins act. The API
// has two roles; acting on documentation is a write, and writes are the
// admin's, as for jobs and uploads.

// actor is who a review action is recorded for: the token's name.
func (p *principal) actor() string {
	if strings.TrimSpace(p.name) != "" {
		return "token " + p.name
	}
	return fmt.Sprintf("token #%d", p.tokenID)
}

// listReview lists the review items of the organization's current
// documentation: project_id, object_id, layer, state, findings; paginated.
func (a *API) listReview(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	pg, err := pageOf(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	f, err := reviewFilter(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items, err := a.st.ListReview(r.Context(), p.orgID, f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, paginate(withTextDoc(items), pg))
}

func reviewFilter(r *http.Request) (store.ReviewFilter, error) {
	var f store.ReviewFilter
	q := r.URL.Query()
	for _, k := range []struct {
		name string
		into *int64
	}{{"project_id", &f.ProjectID}} {
		if v := q.Get(k.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				return f, modeldoc.Errorf(modeldoc.EINVALID, "%s must be a positive whole number (got %q).", k.name, v)
			}
			*k.into = n
		}
	}
	if v := q.Get("object_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return f, modeldoc.Errorf(modeldoc.EINVALID, "object_id must be a positive whole number (got %q).", v)
		}
		f.ObjectIDs = []int64{n}
	}
	if v := q.Get("layer"); v != "" {
		l, err := modeldoc.ParseLayer(v)
		if err != nil {
			return f, err
		}
		f.Layer = l
	}
	if v := q.Get("state"); v != "" {
		s, err := modeldoc.ParseReviewState(v)
		if err != nil {
			return f, err
		}
		f.State = s
	}
	b, err := queryBool(r, "findings")
	if err != nil {
		return f, err
	}
	f.Findings = b != nil && *b
	return f, nil
}

func (a *API) reviewObject(w http.ResponseWriter, r *http.Request) {
	a.withID(func(w http.ResponseWriter, r *http.Request, p *principal, id int64) (any, error) {
		var req ReviewRequest
		if err := a.decodeJSON(w, r, &req, false); err != nil {
			return nil, err
		}
		act := store.ReviewAction{Action: req.Action, ObjectID: id, Layer: modeldoc.Layer(req.Layer), Column: req.Column, Text: req.Text, Actor: p.actor()}
		res, err := a.st.Review(r.Context(), p.orgID, act)
		if err != nil {
			return nil, err
		}
		items, err := a.st.ListReview(r.Context(), p.orgID, store.ReviewFilter{ObjectIDs: []int64{id}})
		if err != nil {
			return nil, err
		}
		wire := mapSlice(items, reviewItemOf)
		if wire == nil {
			wire = []reviewItem{}
		}
		return ReviewAnswer{Result: reviewResultOf(res), Actor: act.Actor, Items: wire}, nil
	})(w, r)
}

func (a *API) reviewHistory(w http.ResponseWriter, r *http.Request) {
	a.withID(func(w http.ResponseWriter, r *http.Request, p *principal, id int64) (any, error) {
		events, err := a.st.ReviewHistory(r.Context(), p.orgID, id)
		if err != nil {
			return nil, err
		}
		wire := mapSlice(events, reviewEventOf)
		if wire == nil {
			wire = []reviewEvent{}
		}
		return reviewHistory{Items: wire}, nil
	})(w, r)
}

func (a *API) acceptAll(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	var req AcceptAllRequest
	if err := a.decodeJSON(w, r, &req, true); err != nil {
		a.writeError(w, r, err)
		return
	}
	f := store.ReviewFilter{ProjectID: req.ProjectID, ObjectIDs: req.ObjectIDs, Findings: req.Findings}
	if req.Layer != "" {
		l, err := modeldoc.ParseLayer(req.Layer)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		f.Layer = l
	}
	if req.ProjectID != 0 {
		if _, err := a.st.GetProject(r.Context(), p.orgID, req.ProjectID); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	res, err := a.st.AcceptAll(r.Context(), p.orgID, f, p.actor())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, AcceptAllAnswer{Result: reviewResultOf(res), Actor: p.actor()})
}
