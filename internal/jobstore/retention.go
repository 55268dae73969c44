package jobstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

// CallLatencyBoundsMS are the upper bounds, in milliseconds, of the provider
// call latency buckets that generation_log_totals keeps and the Prometheus
// histogram shows: LLM calls take from a fraction of a second to minutes.
var CallLatencyBoundsMS = []int64{100, 250, 500, 1000, 2000, 5000, 10000, 20000, 30000, 60000, 120000, 300000}

// CallBucket is the index of the smallest bound durationMS fits, or
// len(CallLatencyBoundsMS) for a slower call.
func CallBucket(durationMS int64) int {
	for i, b := range CallLatencyBoundsMS {
		if durationMS <= b {
			return i
		}
	}
	return len(CallLatencyBoundsMS)
}

// CallBucketSQL is CallBucket as an SQL expression over the column col.
func CallBucketSQL(col string) string {
	var b strings.Builder
	b.WriteString("CASE")
	for i, bound := range CallLatencyBoundsMS {
		fmt.Fprintf(&b, " WHEN %s <= %d THEN %d", col, bound, i)
	}
	fmt.Fprintf(&b, " ELSE %d END", len(CallLatencyBoundsMS))
	return b.String()
}

// DefaultLogDeleteBatch is how many generation-log rows one transaction of
// DeleteGenerationLogsBefore deletes: small enough that SQLite's single
// writer is held for milliseconds, so job outcomes queue behind it briefly.
const DefaultLogDeleteBatch = 1000

type logTotalKey struct {
	org                  int64
	model, status, class string
	bucket               int
}

type logTotal struct{ calls, durationMS int64 }

// DeleteGenerationLogsBefore deletes the generation-log rows created before
// before, batch rows (DefaultLogDeleteBatch when ≤ 0) per transaction, and
// returns how many it deleted. Each transaction adds the calls it deletes
// to generation_log_totals, so that the call counters never go down; the
// tokens and cost of jobs and items live in their own rows and do not
// change. The rows to delete are found on the read handle, outside the
// write transaction, which only deletes them by id.
func (s *dbStore) DeleteGenerationLogsBefore(ctx context.Context, before time.Time, batch int) (int64, error) {
	if batch <= 0 {
		batch = DefaultLogDeleteBatch
	}
	var deleted, after int64
	for {
		ids, err := s.oldLogIDs(ctx, before.UTC(), after, batch)
		if err != nil {
			return deleted, err
		}
		if len(ids) == 0 {
			return deleted, nil
		}
		after = ids[len(ids)-1]
		n, err := s.deleteLogs(ctx, ids)
		deleted += n
		if err != nil {
			return deleted, err
		}
		if len(ids) < batch {
			return deleted, nil
		}
	}
}

func (s *dbStore) oldLogIDs(ctx context.Context, before time.Time, after int64, batch int) ([]int64, error) {
	rows, err := s.query(ctx, s.r, "SELECT id FROM generation_logs WHERE id > ? AND created_at < ? ORDER BY id LIMIT ?", after, before, batch)
	if err != nil {
		return nil, wrap("find old generation logs", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrap("find old generation logs", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find old generation logs", err)
	}
	return ids, nil
}

// deleteLogs deletes the rows ids and adds their calls to the totals in
// one transaction. RETURNING gives exactly the rows this transaction
// deleted, so two processes pruning at once never count a row twice.
func (s *dbStore) deleteLogs(ctx context.Context, ids []int64) (int64, error) {
	var n int64
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		rows, err := s.query(ctx, tx, "DELETE FROM generation_logs WHERE "+s.inIDs("id")+
			" RETURNING job_id, model, status, error_class, duration_ms", sqldialect.IDList(ids))
		if err != nil {
			return wrap("delete generation logs", err)
		}
		type jobKey struct {
			job                  int64
			model, status, class string
			bucket               int
		}
		byJob := map[jobKey]logTotal{}
		jobSet := map[int64]bool{}
		for rows.Next() {
			var k jobKey
			var ms int64
			if err := rows.Scan(&k.job, &k.model, &k.status, &k.class, &ms); err != nil {
				rows.Close()
				return wrap("delete generation logs", err)
			}
			k.bucket = CallBucket(ms)
			t := byJob[k]
			t.calls++
			t.durationMS += ms
			byJob[k] = t
			jobSet[k.job] = true
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrap("delete generation logs", err)
		}
		if n == 0 {
			return nil
		}
		jobIDs := make([]int64, 0, len(jobSet))
		for id := range jobSet {
			jobIDs = append(jobIDs, id)
		}
		orgOf := make(map[int64]int64, len(jobIDs))
		jr, err := s.query(ctx, tx, "SELECT id, org_id FROM jobs WHERE "+s.inIDs("id"), sqldialect.IDList(jobIDs))
		if err != nil {
			return wrap("delete generation logs: jobs", err)
		}
		for jr.Next() {
			var id, org int64
			if err := jr.Scan(&id, &org); err != nil {
				jr.Close()
				return wrap("delete generation logs: jobs", err)
			}
			orgOf[id] = org
		}
		jr.Close()
		if err := jr.Err(); err != nil {
			return wrap("delete generation logs: jobs", err)
		}
		totals := map[logTotalKey]logTotal{}
		for k, t := range byJob {
			tk := logTotalKey{org: orgOf[k.job], model: k.model, status: k.status, class: k.class, bucket: k.bucket}
			sum := totals[tk]
			sum.calls += t.calls
			sum.durationMS += t.durationMS
			totals[tk] = sum
		}
		return s.addLogTotals(ctx, tx, totals)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// addLogTotals upserts totals in key order, so that two processes pruning
// at once on PostgreSQL lock the rows in the same order and cannot
// deadlock.
func (s *dbStore) addLogTotals(ctx context.Context, tx *sql.Tx, totals map[logTotalKey]logTotal) error {
	keys := make([]logTotalKey, 0, len(totals))
	for k := range totals {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.org != b.org {
			return a.org < b.org
		}
		if a.model != b.model {
			return a.model < b.model
		}
		if a.status != b.status {
			return a.status < b.status
		}
		if a.class != b.class {
			return a.class < b.class
		}
		return a.bucket < b.bucket
	})
	for start := 0; start < len(keys); start += 100 {
		end := min(start+100, len(keys))
		var b strings.Builder
		b.WriteString("INSERT INTO generation_log_totals (org_id, model, status, error_class, bucket, calls, duration_ms) VALUES ")
		args := make([]any, 0, 7*(end-start))
		for i, k := range keys[start:end] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			t := totals[k]
			args = append(args, k.org, k.model, k.status, k.class, k.bucket, t.calls, t.durationMS)
		}
		b.WriteString(` ON CONFLICT (org_id, model, status, error_class, bucket) DO UPDATE SET
			calls = generation_log_totals.calls + excluded.calls, duration_ms = generation_log_totals.duration_ms + excluded.duration_ms`)
		if _, err := tx.ExecContext(ctx, sqldialect.Rebind(s.pg, b.String()), args...); err != nil {
			return wrap("add generation log totals", err)
		}
	}
	return nil
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("jobstore: %s: %w", what, err)
}

// withTx runs fn in a write transaction, committed when it returns nil.
func (s *dbStore) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return sqldialect.InTx(ctx, s.write, wrap, fn)
}
