package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/store"
)

// getLineage answers the neighbourhood of an object: up and down hops
// (0 to store.MaxLineageDepth, 2 by default), at most max_nodes objects
// and exposures (1 to store.MaxLineageNodes), nearest first. A graph of
// the whole project is what a 3,000-model project cannot draw; this is
// what the dashboard's graph asks for, a level at a time.
func (a *API) getLineage(w http.ResponseWriter, r *http.Request) {
	a.withID(func(w http.ResponseWriter, r *http.Request, p *principal, id int64) (any, error) {
		up, err := queryInt(r, "up", store.DefaultLineageDepth, 0, store.MaxLineageDepth)
		if err != nil {
			return nil, err
		}
		down, err := queryInt(r, "down", store.DefaultLineageDepth, 0, store.MaxLineageDepth)
		if err != nil {
			return nil, err
		}
		maxNodes, err := queryInt(r, "max_nodes", store.DefaultLineageNodes, 1, store.MaxLineageNodes)
		if err != nil {
			return nil, err
		}
		g, err := a.st.LineageAround(r.Context(), p.orgID, id, up, down, maxNodes)
		if err != nil {
			return nil, err
		}
		return lineageGraphOf(g), nil
	})(w, r)
}

// queryInt reads an optional whole-number query parameter within lo..hi.
func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, modeldoc.Errorf(modeldoc.EINVALID, "%s must be a whole number from %d to %d (got %q).", name, lo, hi, v)
	}
	return n, nil
}

// maxReaders bounds the downstream objects whose SQL is read for the
// columns that pass a column on: a hub model has hundreds.
const maxReaders = 50

// columnLineageOf works out o's column lineage from the SQL (sqlscan):
// its own against its direct upstreams, and its direct downstreams'
// against theirs. readersCut is true when more than maxReaders
// downstream objects were left unread.
func (a *API) columnLineageOf(r *http.Request, orgID int64, o *modeldoc.Object, up, down []modeldoc.Object) ([]columnLineage, bool, error) {
	var out []columnLineage
	index := map[string]int{}
	for _, c := range generate.ColumnOrigins(*o, up) {
		cl := columnLineage{Column: c.Column, Expr: c.Expr, Constant: c.Constant}
		if c.From != nil {
			cl.From = &columnEnd{ID: c.From.ID, Name: c.From.Name, Type: c.From.Type, Column: c.FromColumn}
		}
		index[strings.ToLower(c.Column)] = len(out)
		out = append(out, cl)
	}
	cut := false
	if len(down) > maxReaders {
		down, cut = down[:maxReaders], true
	}
	if len(down) == 0 {
		return out, cut, nil
	}
	// Each downstream object's column lineage needs its own upstreams:
	// two queries for all of them.
	downIDs := make([]int64, len(down))
	for i, d := range down {
		downIDs[i] = d.ID
	}
	edges, err := a.st.EdgesTouching(r.Context(), orgID, downIDs)
	if err != nil {
		return nil, false, err
	}
	ups := map[int64][]int64{}
	need := map[int64]bool{}
	isDown := map[int64]bool{}
	for _, id := range downIDs {
		isDown[id] = true
	}
	for _, e := range edges {
		if isDown[e.Downstream] && e.Upstream != o.ID {
			ups[e.Downstream] = append(ups[e.Downstream], e.Upstream)
			need[e.Upstream] = true
		}
	}
	var needIDs []int64
	for id := range need {
		needIDs = append(needIDs, id)
	}
	others, err := a.st.GetObjects(r.Context(), orgID, needIDs)
	if err != nil {
		return nil, false, err
	}
	byID := map[int64]modeldoc.Object{}
	for _, x := range others {
		byID[x.ID] = x
	}
	for _, d := range down {
		theirs := []modeldoc.Object{*o}
		for _, id := range ups[d.ID] {
			if x, ok := byID[id]; ok {
				theirs = append(theirs, x)
			}
		}
		for _, c := range generate.ColumnOrigins(d, theirs) {
			if c.From == nil || c.From.ID != o.ID {
				continue
			}
			i, ok := index[strings.ToLower(c.FromColumn)]
			if !ok {
				i = len(out)
				index[strings.ToLower(c.FromColumn)] = i
				out = append(out, columnLineage{Column: c.FromColumn})
			}
			out[i].ReadBy = append(out[i].ReadBy, columnEnd{ID: d.ID, Name: d.Name, Type: d.Type, Column: c.Column})
		}
	}
	return out, cut, nil
}
