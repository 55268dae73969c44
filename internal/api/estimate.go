package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/modeldoc/modeldoc/internal/jobs"
)

// estimateRetryAfter is the Retry-After of an estimate refused because
// another large one of its organization is running: a large estimate
// plans thousands of objects and takes seconds.
const estimateRetryAfter = 5

// selectionSize is an upper bound of the objects sel can select, read
// without planning it: the ids or names it lists, or else the objects of
// its project (or of the whole organization).
func (a *API) selectionSize(ctx context.Context, orgID int64, sel jobs.Selection) (int, error) {
	if sel.Pattern == "" && sel.ProjectID == 0 && len(sel.ObjectIDs)+len(sel.Names) > 0 {
		return len(sel.ObjectIDs) + len(sel.Names), nil
	}
	n, err := a.st.SelectionSize(ctx, orgID, sel.ProjectID)
	if err != nil {
		return 0, fmt.Errorf("api: selection size: %w", err)
	}
	return n, nil
}

// startLargeEstimate takes the organization's one slot for a large
// estimate, or reports that another holds it. done gives the slot back.
func (a *API) startLargeEstimate(orgID int64) (done func(), ok bool) {
	a.estimatingMu.Lock()
	defer a.estimatingMu.Unlock()
	if a.estimating[orgID] {
		return nil, false
	}
	a.estimating[orgID] = true
	return func() {
		a.estimatingMu.Lock()
		delete(a.estimating, orgID)
		a.estimatingMu.Unlock()
	}, true
}

// admitEstimate lets an estimate of a large selection (more than
// Config.LargeEstimate objects) run only when no other large estimate of
// the organization is running: planning thousands of objects costs
// seconds of CPU and a lot of memory, and one organization must not take
// the whole server with concurrent ones. It returns the function that ends
// the estimate, or writes 429 with Retry-After.
func (a *API) admitEstimate(w http.ResponseWriter, r *http.Request, orgID int64, sel jobs.Selection) (func(), error) {
	n, err := a.selectionSize(r.Context(), orgID, sel)
	if err != nil {
		return nil, err
	}
	if n <= a.cfg.LargeEstimate {
		return func() {}, nil
	}
	done, ok := a.startLargeEstimate(orgID)
	if !ok {
		w.Header().Set("Retry-After", fmt.Sprint(estimateRetryAfter))
		return nil, errorf(codeRateLimited, fmt.Sprintf("Another estimate of more than %d objects is running for this organization; estimates that large run one at a time. Retry in %d s.", a.cfg.LargeEstimate, estimateRetryAfter))
	}
	return done, nil
}
