package jobstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The rate_limits table (PostgreSQL only: migration 0011) keeps one row
// per provider key (its hash, never the key) for ratelimit.PGBucket, so
// that every process using a key shares one limit and one 429 hold. Each
// statement is atomic under the row lock and uses the database's clock,
// so workers on machines with skewed clocks agree; waits come back as
// durations, never as timestamps. Durations travel as microseconds,
// PostgreSQL's timestamp resolution.
const us = `* interval '1 microsecond'`

const takeSQL = `WITH c AS (SELECT clock_timestamp() AS now),
cur AS (
	SELECT r.key, r.next_request_at AS rq, r.next_token_at AS tk, c.now,
		greatest(c.now, r.penalty_until,
			r.next_request_at + least($2::bigint - $3::bigint, 0) ` + us + `,
			r.next_token_at + least($4::bigint - $5::bigint, 0) ` + us + `) AS start
	FROM rate_limits r, c WHERE r.key = $1 FOR UPDATE OF r)
UPDATE rate_limits r SET
	next_request_at = greatest(cur.rq, cur.start) + $2::bigint ` + us + `,
	next_token_at = greatest(cur.tk, cur.start) + $4::bigint ` + us + `
FROM cur WHERE r.key = cur.key
RETURNING cur.start, (extract(epoch FROM cur.start - cur.now) * 1000000)::bigint`

// A new key's bucket starts empty, as a MemoryBucket does.
const insertRateSQL = `INSERT INTO rate_limits (key, next_request_at, next_token_at)
VALUES ($1, clock_timestamp() + $2::bigint ` + us + `, clock_timestamp() + $3::bigint ` + us + `)
ON CONFLICT (key) DO NOTHING`

func (s *dbStore) TakeRate(ctx context.Context, key string, requestCost, requestTolerance, tokenCost, tokenTolerance time.Duration) (time.Time, time.Duration, error) {
	for range 2 {
		var start time.Time
		var wait int64
		err := s.write.QueryRowContext(ctx, takeSQL, key,
			requestCost.Microseconds(), requestTolerance.Microseconds(),
			tokenCost.Microseconds(), tokenTolerance.Microseconds()).Scan(&start, &wait)
		if err == nil {
			return start, time.Duration(wait) * time.Microsecond, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return time.Time{}, 0, fmt.Errorf("take: %w", err)
		}
		if _, err := s.write.ExecContext(ctx, insertRateSQL, key, requestTolerance.Microseconds(), tokenTolerance.Microseconds()); err != nil {
			return time.Time{}, 0, fmt.Errorf("create: %w", err)
		}
	}
	return time.Time{}, 0, errors.New("the row vanished while taking")
}

// adjustSQL charges from now at the earliest and never refunds before now,
// as adjust does in memory.
const adjustSQL = `WITH c AS (SELECT clock_timestamp() AS now)
UPDATE rate_limits SET
	next_request_at = CASE
		WHEN $2::bigint > 0 THEN greatest(next_request_at, c.now) + $2::bigint ` + us + `
		WHEN $2::bigint < 0 AND next_request_at > c.now THEN greatest(next_request_at + $2::bigint ` + us + `, c.now)
		ELSE next_request_at END,
	next_token_at = CASE
		WHEN $3::bigint > 0 THEN greatest(next_token_at, c.now) + $3::bigint ` + us + `
		WHEN $3::bigint < 0 AND next_token_at > c.now THEN greatest(next_token_at + $3::bigint ` + us + `, c.now)
		ELSE next_token_at END
FROM c WHERE key = $1`

// The corrections update the key's row and leave a row that does not
// exist yet alone: they only ever follow a Take, which creates it.

func (s *dbStore) AdjustRate(ctx context.Context, key string, requests, tokens time.Duration) error {
	_, err := s.write.ExecContext(ctx, adjustSQL, key, requests.Microseconds(), tokens.Microseconds())
	return err
}

const drainSQL = `UPDATE rate_limits SET
	next_request_at = CASE WHEN $2::bigint > 0 THEN greatest(next_request_at, clock_timestamp() + $2::bigint ` + us + `) ELSE next_request_at END,
	next_token_at = CASE WHEN $3::bigint > 0 THEN greatest(next_token_at, clock_timestamp() + $3::bigint ` + us + `) ELSE next_token_at END
WHERE key = $1`

func (s *dbStore) DrainRate(ctx context.Context, key string, requests, tokens time.Duration) error {
	_, err := s.write.ExecContext(ctx, drainSQL, key, requests.Microseconds(), tokens.Microseconds())
	return err
}

const holdSQL = `UPDATE rate_limits SET penalty_until = greatest(penalty_until, clock_timestamp() + $2::bigint ` + us + `) WHERE key = $1`

func (s *dbStore) HoldRate(ctx context.Context, key string, d time.Duration) error {
	_, err := s.write.ExecContext(ctx, holdSQL, key, d.Microseconds())
	return err
}

func (s *dbStore) CutRateFactor(ctx context.Context, key string, f float64) error {
	_, err := s.write.ExecContext(ctx, `UPDATE rate_limits SET rate_factor = $2, factor_cut_at = clock_timestamp() WHERE key = $1`, key, f)
	return err
}

func (s *dbStore) RateFactor(ctx context.Context, key string) (float64, time.Duration, error) {
	var f float64
	var since int64
	err := s.write.QueryRowContext(ctx, `SELECT rate_factor,
		CASE WHEN factor_cut_at = '-infinity' THEN -1
		ELSE (extract(epoch FROM clock_timestamp() - factor_cut_at) * 1000000)::bigint END
		FROM rate_limits WHERE key = $1`, key).Scan(&f, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return 1, -1, nil
	}
	if err != nil {
		return 1, -1, err
	}
	return f, time.Duration(since) * time.Microsecond, nil
}
