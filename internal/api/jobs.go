package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/jobs"
)

// create checks the provider and fills its default model (the estimate is
// priced for the model that will run), and says who triggered the job.
func (q jobRequest) create(p *principal, allowBaseURL func(string) bool) (jobs.CreateRequest, error) {
	if q.BaseURL != "" && allowBaseURL != nil && !allowBaseURL(q.BaseURL) {
		// A job sends its organization's stored key to its base URL: an
		// admin must not be able to send it anywhere the operator did not
		// choose.
		return jobs.CreateRequest{}, modeldoc.Errorf(modeldoc.EINVALID,
			"base_url %q is not allowed on this server: its operator lists the OpenAI-compatible servers jobs may call with `modeldoc serve --allow-base-url URL`.", q.BaseURL)
	}
	if q.Provider == "" {
		// The server ignores its environment's keys, so the choice cannot
		// depend on them: a base URL means an OpenAI-compatible server.
		q.Provider = modeldoc.ProviderOffline
		if q.BaseURL != "" {
			q.Provider = modeldoc.ProviderOpenAI
		}
	}
	prov, err := engine.Provider{Name: q.Provider, Model: q.Model, BaseURL: q.BaseURL, JSONMode: q.JSONMode, ReasoningEffort: q.ReasoningEffort}.Resolve()
	if err != nil {
		return jobs.CreateRequest{}, err
	}
	q.Provider, q.Model = prov.Name, prov.Model
	opts := jobs.Options{
		Selection: q.Selection.jobs(), SkipExisting: q.SkipExisting, OnlyStale: q.OnlyStale, RegenerateAll: q.RegenerateAll,
		Layers: q.Layers, MaxRetries: jobs.DefaultMaxRetries, Concurrency: jobs.DefaultConcurrency, Provider: q.Provider, Model: q.Model,
		BaseURL: q.BaseURL, JSONMode: q.JSONMode, ReasoningEffort: q.ReasoningEffort, Budget: q.Budget, RPM: q.RPM, TPM: q.TPM,
		PriceIn: q.PriceIn, PriceOut: q.PriceOut, Batch: q.Batch,
	}
	if q.MaxRetries != nil {
		opts.MaxRetries = *q.MaxRetries
	}
	if q.Concurrency != nil {
		opts.Concurrency = *q.Concurrency
	} else if q.Batch {
		// A batch's chunks hold the calls of the objects in flight.
		opts.Concurrency = jobs.MaxConcurrency
	}
	if err := opts.Validate(); err != nil {
		return jobs.CreateRequest{}, err
	}
	return jobs.CreateRequest{
		Options: opts,
		// The token is the user: its id is stable, its name is what a
		// person gave it (often an email address).
		TriggeredByUserID: fmt.Sprintf("token:%d", p.tokenID),
		TriggeredByEmail:  p.name,
	}, nil
}

// readJobRequest decodes a job body (create and estimate share it) and
// checks it, answering the error itself when there is one.
func (a *API) readJobRequest(w http.ResponseWriter, r *http.Request) (*principal, jobs.CreateRequest, bool) {
	p := principalOf(r.Context())
	var req jobRequest
	if err := a.decodeJSON(w, r, &req, false); err != nil {
		a.writeError(w, r, err)
		return nil, jobs.CreateRequest{}, false
	}
	cr, err := req.create(p, a.cfg.AllowBaseURL)
	if err != nil {
		a.writeError(w, r, err)
		return nil, jobs.CreateRequest{}, false
	}
	return p, cr, true
}

func (a *API) createJob(w http.ResponseWriter, r *http.Request) {
	p, cr, ok := a.readJobRequest(w, r)
	if !ok {
		return
	}
	j, err := a.jobs.Create(r.Context(), p.orgID, cr)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.Info("api: job created", "job", j.ID, "org", p.orgID, "token", p.tokenID, "total", j.Total)
	w.Header().Set("Location", "/api/v1/jobs/"+itoa(j.ID))
	writeJSON(w, http.StatusCreated, jobOf(j))
}

func (a *API) estimateJob(w http.ResponseWriter, r *http.Request) {
	p, cr, ok := a.readJobRequest(w, r)
	if !ok {
		return
	}
	done, err := a.admitEstimate(w, r, p.orgID, cr.Selection)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	defer done()
	est, err := a.jobs.Estimate(r.Context(), p.orgID, cr)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, estimateOf(est))
}

func (a *API) listJobs(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	pg, err := pageOf(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	status := r.URL.Query().Get("status")
	js, err := a.jobs.List(r.Context(), p.orgID, jobs.ListFilter{Status: status, Limit: pg.Limit, Offset: pg.Offset})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	total, err := a.countJobs(r, p.orgID, status)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[*job]{Items: mapSlice(js, jobOf), Total: total, Limit: pg.Limit, Offset: pg.Offset})
}

// countJobs counts the organization's jobs for the listing's total; the
// job manager pages but does not count.
func (a *API) countJobs(r *http.Request, orgID int64, status string) (int, error) {
	n, err := a.st.JobStore().CountJobs(r.Context(), orgID, status)
	if err != nil {
		return 0, fmt.Errorf("api: count jobs: %w", err)
	}
	return n, nil
}

// withID runs fn with the {id} of the route and the principal.
func (a *API) withID(fn func(w http.ResponseWriter, r *http.Request, p *principal, id int64) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		v, err := fn(w, r, principalOf(r.Context()), id)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func (a *API) getJob(w http.ResponseWriter, r *http.Request) {
	a.withID(func(w http.ResponseWriter, r *http.Request, p *principal, id int64) (any, error) {
		return jobAnswer(a.jobs.Get(r.Context(), p.orgID, id))
	})(w, r)
}

func (a *API) cancelJob(w http.ResponseWriter, r *http.Request) {
	a.withID(func(w http.ResponseWriter, r *http.Request, p *principal, id int64) (any, error) {
		return jobAnswer(a.jobs.Cancel(r.Context(), p.orgID, id))
	})(w, r)
}

func (a *API) pauseJob(w http.ResponseWriter, r *http.Request) {
	a.withID(func(w http.ResponseWriter, r *http.Request, p *principal, id int64) (any, error) {
		return jobAnswer(a.jobs.Pause(r.Context(), p.orgID, id))
	})(w, r)
}

// resumeJob resumes a paused job. With {"budget": USD} it first raises
// the budget, so that a job paused for its budget resumes in one call.
func (a *API) resumeJob(w http.ResponseWriter, r *http.Request) {
	a.withID(func(w http.ResponseWriter, r *http.Request, p *principal, id int64) (any, error) {
		var req budgetRequest
		if err := a.decodeJSON(w, r, &req, true); err != nil {
			return nil, err
		}
		if req.Budget != nil {
			// Check the transition first, so that a resume that cannot
			// happen changes nothing.
			j, err := a.jobs.Get(r.Context(), p.orgID, id)
			if err != nil {
				return nil, err
			}
			if j.Status != jobs.StatusPaused && j.Status != jobs.StatusPausing {
				return nil, modeldoc.Errorf(modeldoc.ECONFLICT, "Job %d is %s, not paused: there is nothing to resume.", id, j.Status)
			}
			if _, err := a.jobs.SetBudget(r.Context(), p.orgID, id, *req.Budget); err != nil {
				return nil, err
			}
		}
		return jobAnswer(a.jobs.Resume(r.Context(), p.orgID, id))
	})(w, r)
}

func (a *API) setBudget(w http.ResponseWriter, r *http.Request) {
	a.withID(func(w http.ResponseWriter, r *http.Request, p *principal, id int64) (any, error) {
		var req budgetRequest
		if err := a.decodeJSON(w, r, &req, false); err != nil {
			return nil, err
		}
		if req.Budget == nil {
			return nil, modeldoc.Errorf(modeldoc.EINVALID, "Give the new budget in USD as {\"budget\": 10} (0 removes the budget).")
		}
		return jobAnswer(a.jobs.SetBudget(r.Context(), p.orgID, id, *req.Budget))
	})(w, r)
}

var itemStatuses = map[string]bool{
	jobs.ItemBlocked: true, jobs.ItemReady: true, jobs.ItemEnqueued: true, jobs.ItemRunning: true, jobs.ItemDone: true,
	jobs.ItemPartial: true, jobs.ItemFailed: true, jobs.ItemSkipped: true, jobs.ItemCancelled: true,
}

func (a *API) jobItems(w http.ResponseWriter, r *http.Request) {
	a.withID(func(w http.ResponseWriter, r *http.Request, p *principal, id int64) (any, error) {
		pg, err := pageOf(r)
		if err != nil {
			return nil, err
		}
		status := r.URL.Query().Get("status")
		if status != "" && !itemStatuses[status] {
			return nil, modeldoc.Errorf(modeldoc.EINVALID, "Unknown item status %q: choose from blocked, ready, enqueued, running, done, partial, failed, skipped, cancelled.", status)
		}
		items, total, err := a.jobs.ItemsPage(r.Context(), p.orgID, id, jobs.Page{Status: status, Limit: pg.Limit, Offset: pg.Offset})
		if err != nil {
			return nil, err
		}
		return pageList(mapSlice(items, jobItemOf), total, pg), nil
	})(w, r)
}

// jobLogs answers the job's error log (?kind=errors, the default) or its
// generation log, one row per call (?kind=calls), oldest first.
func (a *API) jobLogs(w http.ResponseWriter, r *http.Request) {
	a.withID(func(w http.ResponseWriter, r *http.Request, p *principal, id int64) (any, error) {
		pg, err := pageOf(r)
		if err != nil {
			return nil, err
		}
		switch kind := r.URL.Query().Get("kind"); kind {
		case "", "errors":
			es, total, err := a.jobs.ErrorsPage(r.Context(), p.orgID, id, jobs.Page{Limit: pg.Limit, Offset: pg.Offset})
			if err != nil {
				return nil, err
			}
			return pageList(mapSlice(es, errorEntryOf), total, pg), nil
		case "calls":
			ls, total, err := a.jobs.GenerationLogsPage(r.Context(), p.orgID, id, jobs.Page{Limit: pg.Limit, Offset: pg.Offset})
			if err != nil {
				return nil, err
			}
			return pageList(mapSlice(ls, generationLogOf), total, pg), nil
		default:
			return nil, modeldoc.Errorf(modeldoc.EINVALID, "kind must be errors or calls (got %q).", kind)
		}
	})(w, r)
}

// jobEvents streams the job as Server-Sent Events: `progress` with the job
// on every change, then one final event named after how the job ended
// (completed, failed, cancelled) or `paused`, after which the stream
// ends. A paused job's stream ends too: a client reconnects after it
// resumes the job. Comment lines keep idle connections alive.
func (a *API) jobEvents(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	id, err := pathID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	// The organization check comes before anything is subscribed.
	if _, err := a.jobs.Get(r.Context(), p.orgID, id); err != nil {
		a.writeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise hold events back
	w.WriteHeader(http.StatusOK)
	events, stop := a.jobs.Subscribe(r.Context(), id)
	defer stop()
	heartbeat := time.NewTicker(a.cfg.Heartbeat)
	defer heartbeat.Stop()
	// The token was checked once, when the stream opened; a stream lasts
	// as long as its job, so revoking the token must end it too.
	tokenCheck := time.NewTicker(a.cfg.TokenCheck)
	defer tokenCheck.Stop()
	write := func(s string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(a.cfg.WriteTimeout))
		if _, err := fmt.Fprint(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(": modeldoc job " + itoa(id) + "\nretry: 3000\n\n") {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-a.closing:
			return
		case <-heartbeat.C:
			if !write(": heartbeat\n\n") {
				return
			}
		case <-tokenCheck.C:
			if !a.tokenValid(r.Context(), p.tokenID) {
				// A comment, not an event: a client's reconnection then
				// meets the 401 that says why.
				write(": the token was revoked\n\n")
				return
			}
		case ev, ok := <-events:
			if !ok {
				return
			}
			name, final := eventName(ev.Job)
			data, err := json.Marshal(jobOf(ev.Job))
			if err != nil {
				a.log.Error("api: encode job event", "job", id, "err", err)
				return
			}
			if !write(fmt.Sprintf("id: %d\nevent: %s\ndata: %s\n\n", ev.Job.UpdatedAt.UnixMicro(), name, data)) || final {
				return
			}
		}
	}
}

// tokenValid reports whether the token still authenticates. A failed
// read keeps the stream open, the next check deciding, rather than cutting
// every stream at a hiccup of the store.
func (a *API) tokenValid(ctx context.Context, tokenID int64) bool {
	ok, err := a.st.TokenActive(ctx, tokenID)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("api: event stream: token check", "token", tokenID, "err", err)
		}
		return true
	}
	return ok
}

// eventName names the event for the job's state: the job's ending once
// it has ended and no call is left in flight, progress before.
func eventName(j *jobs.Job) (string, bool) {
	switch {
	case jobs.Terminal(j.Status) && j.InFlight <= 0:
		return j.Status, true
	case j.Status == jobs.StatusPaused:
		return jobs.StatusPaused, true
	}
	return "progress", false
}
