package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// events streams jobs' changes to subscribers: at once for changes made
// in this process (notify), within a poll for those of other processes.
type events struct {
	*jobDB
	log  *slog.Logger
	poll time.Duration

	mu   sync.Mutex
	subs map[int64]map[*subscription]struct{}
	// closing ends every subscription's poll loop on close, and subsDone
	// waits for them, so none reads a store its owner is about to close.
	closing   chan struct{}
	closeOnce sync.Once
	subsDone  sync.WaitGroup
}

func newEvents(db *jobDB, log *slog.Logger, poll time.Duration) *events {
	return &events{jobDB: db, log: log, poll: poll, subs: map[int64]map[*subscription]struct{}{}, closing: make(chan struct{})}
}

// close ends the subscriptions and waits for their last read.
func (e *events) close() {
	e.closeOnce.Do(func() { close(e.closing) })
	e.subsDone.Wait()
}

type subscription struct {
	wake chan struct{}
}

// notify wakes the subscribers of job id after a change made here.
func (e *events) notify(id int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for s := range e.subs[id] {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// final reports whether nothing more will happen to the job: a terminal
// status with no call left in flight.
func (j *Job) final() bool { return Terminal(j.Status) && j.InFlight <= 0 }

// Subscribe streams job id's events: one with the current state at once,
// then one on every change: changes made in this process arrive at once,
// changes made by other processes within a poll interval. The channel
// closes after a completed, failed or cancelled event once no call is
// left in flight, or when ctx ends or
// cancel is called. A slow reader misses intermediate progress events,
// never the last state. The caller checks the job's organization first.
func (e *events) Subscribe(ctx context.Context, jobID int64) (<-chan Event, func()) {
	ctx, cancel := context.WithCancel(ctx)
	s := &subscription{wake: make(chan struct{}, 1)}
	e.mu.Lock()
	if e.subs[jobID] == nil {
		e.subs[jobID] = map[*subscription]struct{}{}
	}
	e.subs[jobID][s] = struct{}{}
	e.mu.Unlock()
	out := make(chan Event, 1)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			e.mu.Lock()
			delete(e.subs[jobID], s)
			if len(e.subs[jobID]) == 0 {
				delete(e.subs, jobID)
			}
			e.mu.Unlock()
		})
	}
	e.subsDone.Add(1)
	go func() {
		defer e.subsDone.Done()
		defer close(out)
		defer stop()
		go func() {
			select {
			case <-e.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		t := time.NewTicker(e.poll)
		defer t.Stop()
		last := ""
		for {
			j, err := e.loadAny(ctx, jobID)
			if err == nil {
				key := fmt.Sprintf("%s|%d|%d|%d|%d|%d|%d|%d|%d|%.9f|%v", j.Status, j.Processed, j.Failed, j.Skipped, j.Cancelled,
					j.InFlight, j.PromptTokens, j.CompletionTokens, j.CachedTokens, j.ActualCost, j.Running)
				if b := j.Batch; b != nil {
					key += fmt.Sprintf("|%d|%d|%d|%d|%d", b.Batches, b.Open, b.Submitted, b.Completed, b.Failed)
				}
				if key != last {
					last = key
					ev := Event{Kind: eventKind(j.Status), Job: j}
					// Keep only the newest event for a slow reader.
					select {
					case out <- ev:
					default:
						select {
						case <-out:
						default:
						}
						select {
						case out <- ev:
						case <-ctx.Done():
							return
						}
					}
					if j.final() {
						return
					}
				}
			} else if ctx.Err() == nil {
				e.log.Warn("jobs: subscription poll", "job", jobID, "err", err)
			}
			loaded := time.Now()
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
				// At hundreds of objects a second a reload per change would
				// cost more than the changes; one per subscriberGap carries
				// them all, the last one included.
				if wait := subscriberGap - time.Since(loaded); wait > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(wait):
					}
				}
			case <-t.C:
			}
		}
	}()
	return out, stop
}

// subscriberGap is the least time between two loads of a subscribed job
// that changes in this process.
const subscriberGap = 50 * time.Millisecond

// loadAny loads a job whatever its organization (for subscriptions).
func (e *events) loadAny(ctx context.Context, id int64) (*Job, error) {
	j, err := e.scanJob(e.js.GetJobByID(ctx, id))
	if err != nil {
		return nil, err
	}
	if err := e.fillDetails(ctx, e.js, j); err != nil {
		return nil, err
	}
	return j, nil
}
