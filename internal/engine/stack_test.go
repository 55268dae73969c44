package engine

import (
	"context"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/ratelimit"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// answered stands in for an item's guarded writer: the retry layer's
// limiter is what the test watches.
type answered struct{}

func (answered) Provider() string { return modeldoc.ProviderOpenAI }
func (answered) Write(context.Context, writer.Request) (writer.Result, error) {
	return writer.Result{Content: `{}`}, nil
}

// TestJobsSharingAKeyShareALimiter: a job's writer stack paces its calls
// with the limiter of the key its writer uses, so two jobs with one key
// share a limiter and a job with another key has its own; the offline
// writer gets no layer at all. The stack carries its key, so the engine
// keeps nothing per job (it kept a map of job ids that was never emptied).
func TestJobsSharingAKeyShareALimiter(t *testing.T) {
	st := modeldoctest.NewSQLiteStore(t)
	ctx := context.Background()
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(ctx, Config{Store: st, EnvKeys: map[string]string{"openai": "sk-shared-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	call := func(j *jobs.Job) {
		t.Helper()
		stack, err := e.writerStack(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		if stack.Wrap == nil {
			t.Fatalf("job %d: no retry layer", j.ID)
		}
		if _, err := stack.Wrap(answered{}).Write(ctx, writer.Request{Layer: modeldoc.LayerExecutiveSummary, User: "x", MaxTokens: 10}); err != nil {
			t.Fatal(err)
		}
	}
	opts := jobs.Options{Provider: "openai", Model: "gpt-4o-mini", BaseURL: "http://127.0.0.1:9/v1", RPM: 600}
	call(&jobs.Job{ID: 1, OrgID: org.ID, Options: opts})
	call(&jobs.Job{ID: 2, OrgID: org.ID, Options: opts})
	other := opts
	other.BaseURL = "http://127.0.0.1:10/v1" // another server: another limit
	call(&jobs.Job{ID: 3, OrgID: org.ID, Options: other})

	shared := e.Limits.Get(ratelimit.Key("openai", opts.BaseURL, "sk-shared-0123456789"), ratelimit.Config{})
	own := e.Limits.Get(ratelimit.Key("openai", other.BaseURL, "sk-shared-0123456789"), ratelimit.Config{})
	if n := shared.Stats().Requests; n != 2 {
		t.Errorf("the shared key's limiter paced %d calls, want the 2 of jobs 1 and 2", n)
	}
	if n := own.Stats().Requests; n != 1 {
		t.Errorf("the other key's limiter paced %d calls, want job 3's 1", n)
	}

	offline, err := e.writerStack(ctx, &jobs.Job{ID: 4, OrgID: org.ID, Options: jobs.Options{Provider: "offline"}})
	if err != nil || offline.Wrap != nil {
		t.Errorf("offline stack: wrap %v, err %v; want no layer", offline.Wrap != nil, err)
	}
}
