package modeldoc

// Provider names, as flags, the API, the store, the price table and
// writer.Writer.Provider spell them. They are plain strings rather than a
// type of their own because they cross every one of those boundaries as
// strings (a flag value, a column, a JSON field); the constants keep the
// spelling in one place.
const (
	ProviderOpenAI    = "openai"
	ProviderAnthropic = "anthropic"
	ProviderOffline   = "offline"
)

// Job states. internal/jobs owns their transitions (docs/architecture.md
// has the table); they are named here so that the packages below it
// (metrics, the API) spell them the same. Plain strings for the same
// reason as the provider names: jobs.Job.Status is a column and a JSON
// field.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobPausing   = "pausing"
	JobPaused    = "paused"
	JobCompleted = "completed"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
)

// JobStates are every job state, in the order of a job's life.
var JobStates = []string{JobQueued, JobRunning, JobPausing, JobPaused, JobCompleted, JobFailed, JobCancelled}
