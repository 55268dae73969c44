package scaletest

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/jobs"
)

const tuva = "tuva-health__tuva"

// startWorkers starts n workers and waits until each has said it started,
// so that process start-up is not part of what is measured.
func (c *cluster) startWorkers(n int, args ...string) []*worker {
	var ws []*worker
	for i := range n {
		ws = append(ws, c.start(fmt.Sprintf("w%d", i+1), args...))
	}
	deadline := time.Now().Add(time.Minute)
	for _, w := range ws {
		for {
			b, _ := os.ReadFile(w.log)
			if strings.Contains(string(b), "worker started") {
				break
			}
			if time.Now().After(deadline) {
				c.tb.Fatalf("worker %s did not start:\n%s", w.id, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return ws
}

// runJob documents the project once and returns the job as it ended.
func (c *cluster) runJob(project int64, o jobs.Options) *jobs.Job {
	j := c.createJob(project, o)
	done := c.waitJob(j.ID, "completion", 10*time.Minute, func(j *jobs.Job) bool { return jobs.Terminal(j.Status) && j.InFlight == 0 })
	if done.Status != jobs.StatusCompleted {
		c.tb.Fatalf("job ended %+v", done)
	}
	c.checkExact(j.ID)
	return done
}

// BenchmarkScaleThroughput documents the Tuva project (about 380
// objects) with 1, 2 and 4 worker processes against a fake provider
// without limits, 200 ms a call: objects a second from the job's first
// start to its end.
func BenchmarkScaleThroughput(b *testing.B) {
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			c := newCluster(b, fakellm.Config{Latency: 200 * time.Millisecond, Jitter: 50 * time.Millisecond})
			project := c.importDataset(tuva)
			c.startWorkers(n)
			var objects int64
			var wall time.Duration
			b.ResetTimer()
			for range b.N {
				j := c.runJob(project, jobs.Options{Concurrency: 64})
				objects += j.Processed
				wall += j.FinishedAt.Sub(*j.StartedAt)
			}
			b.StopTimer()
			st := c.fake.Stats()
			b.ReportMetric(float64(objects)/wall.Seconds(), "objects/s")
			b.ReportMetric(float64(st.Requests)/wall.Seconds(), "calls/s")
			b.ReportMetric(float64(st.MaxConcurrent), "max-concurrent-calls")
		})
	}
}

// BenchmarkScaleRateLimit runs 4 workers against a fake provider that
// allows 3,000 requests a minute (50 a second, enforced per second), 500
// ms a call, with the job's RPM set to the same 3,000: the workers share
// one limit through PostgreSQL. It reports the request rate the provider
// answered in the steady part of the job against the ceiling, and the
// share of requests answered 429.
func BenchmarkScaleRateLimit(b *testing.B) {
	const rpm = 3000
	c := newCluster(b, fakellm.Config{RPM: rpm, Latency: 500 * time.Millisecond, Jitter: 100 * time.Millisecond})
	project := c.importDataset(tuva)
	c.startWorkers(4)
	b.ResetTimer()
	var steady, ceiling, limited, requests float64
	for range b.N {
		c.fake.ResetStats()
		c.runJob(project, jobs.Options{Concurrency: 64, RPM: rpm})
		st := c.fake.Stats()
		// The steady part: without the first two seconds (the buckets
		// start empty) and the last five (the tail of the lineage, where
		// too few objects are ready to fill the limit).
		ps := st.PerSecond
		if len(ps) < 10 {
			b.Fatalf("the job lasted %d seconds: too short to measure a rate", len(ps))
		}
		var ok int64
		for _, s := range ps[2 : len(ps)-5] {
			ok += s.Succeeded
		}
		// Seconds without any request are not listed: count by the clock.
		secs := float64(ps[len(ps)-6].Unix - ps[2].Unix + 1)
		steady += float64(ok) / secs
		ceiling += rpm / 60.0
		limited += float64(st.RateLimited)
		requests += float64(st.Requests)
		var series []string
		for _, s := range ps {
			series = append(series, fmt.Sprint(s.Succeeded))
		}
		b.Logf("served per second: %s", strings.Join(series, " "))
		b.Logf("%d requests over %d s, %d answered 429; steady %.1f req/s against a ceiling of %.1f", st.Requests, len(ps), st.RateLimited, float64(ok)/secs, rpm/60.0)
	}
	b.StopTimer()
	b.ReportMetric(steady/float64(b.N), "req/s")
	b.ReportMetric(100*steady/ceiling, "%-of-ceiling")
	b.ReportMetric(100*limited/requests, "%-429")
}
