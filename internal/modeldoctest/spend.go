package modeldoctest

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"testing"
)

// spendQuery reads every job's and item's recorded spend next to the sums
// of its generation logs. It takes no parameter, so it runs as is on both
// backends.
const spendQuery = `
SELECT 'job', j.id, j.prompt_tokens, j.cached_tokens, j.completion_tokens, j.actual_cost,
	COALESCE(g.pt, 0), COALESCE(g.cached, 0), COALESCE(g.ct, 0), COALESCE(g.cost, 0), COALESCE(g.calls, 0)
FROM jobs j LEFT JOIN (SELECT job_id, SUM(prompt_tokens) AS pt, SUM(cached_tokens) AS cached,
	SUM(completion_tokens) AS ct, SUM(cost) AS cost, COUNT(*) AS calls FROM generation_logs GROUP BY job_id) g ON g.job_id = j.id
UNION ALL
SELECT 'item', i.id, i.prompt_tokens, i.cached_tokens, i.completion_tokens, i.cost,
	COALESCE(g.pt, 0), COALESCE(g.cached, 0), COALESCE(g.ct, 0), COALESCE(g.cost, 0), COALESCE(g.calls, 0)
FROM job_items i LEFT JOIN (SELECT item_id, SUM(prompt_tokens) AS pt, SUM(cached_tokens) AS cached,
	SUM(completion_tokens) AS ct, SUM(cost) AS cost, COUNT(*) AS calls FROM generation_logs GROUP BY item_id) g ON g.item_id = i.id`

// SpendReport is what CheckSpend found.
type SpendReport struct {
	// Mismatches names each job or item whose tokens or cost differ from
	// the sums of its generation logs.
	Mismatches []string
	// Calls and PromptTokens are the logs' totals over all jobs, so that a
	// test can tell that there was spend to check.
	Calls, PromptTokens int64
	Cost                float64
}

// Spend compares every job's and item's prompt, cached and completion
// tokens and cost with the sums of its generation_logs rows, in db (a
// store's read or write handle).
func Spend(ctx context.Context, db *sql.DB) (SpendReport, error) {
	var r SpendReport
	rows, err := db.QueryContext(ctx, spendQuery)
	if err != nil {
		return r, fmt.Errorf("spend invariant: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var id, pt, cached, ct, gpt, gcached, gct, calls int64
		var cost, gcost float64
		if err := rows.Scan(&kind, &id, &pt, &cached, &ct, &cost, &gpt, &gcached, &gct, &gcost, &calls); err != nil {
			return r, fmt.Errorf("spend invariant: %w", err)
		}
		if kind == "job" {
			r.Calls, r.PromptTokens, r.Cost = r.Calls+calls, r.PromptTokens+gpt, r.Cost+gcost
		}
		// Costs are sums of floats added in different orders.
		if pt != gpt || cached != gcached || ct != gct || math.Abs(cost-gcost) > 1e-9*math.Max(1, math.Abs(gcost)) {
			r.Mismatches = append(r.Mismatches, fmt.Sprintf("%s %d: tokens %d/%d/%d cost %.9f, its %d logs sum to %d/%d/%d cost %.9f",
				kind, id, pt, cached, ct, cost, calls, gpt, gcached, gct, gcost))
		}
	}
	return r, rows.Err()
}

// CheckSpend fails tb unless every job's and item's spend equals the sums
// of its generation logs, and returns the report.
func CheckSpend(tb testing.TB, db *sql.DB) SpendReport {
	tb.Helper()
	r, err := Spend(context.Background(), db)
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range r.Mismatches {
		tb.Errorf("spend: %s", m)
	}
	return r
}
