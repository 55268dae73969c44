package ratelimit

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Schema is the rate_limits table PGBucket keeps its state in, one row per
// provider key (Key's hash, never the key). The store's migration
// 0011_rate_limits.sql creates it for modeldoc itself; EnsureSchema (the
// same DDL) serves tests and programs that use a PGBucket without the
// store.
const Schema = `CREATE TABLE IF NOT EXISTS rate_limits (
	key             text PRIMARY KEY,
	next_request_at timestamptz NOT NULL,
	next_token_at   timestamptz NOT NULL,
	penalty_until   timestamptz NOT NULL DEFAULT '-infinity'
);
ALTER TABLE rate_limits ADD COLUMN IF NOT EXISTS rate_factor double precision NOT NULL DEFAULT 1;
ALTER TABLE rate_limits ADD COLUMN IF NOT EXISTS factor_cut_at timestamptz NOT NULL DEFAULT '-infinity'`

// EnsureSchema creates the rate_limits table if it does not exist. Two
// concurrent CREATE TABLE IF NOT EXISTS can both fail on PostgreSQL's
// catalog, so processes starting together take turns on an advisory lock.
func EnsureSchema(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create rate_limits: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('modeldoc.rate_limits'))`); err != nil {
		return fmt.Errorf("create rate_limits: lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, Schema); err != nil {
		return fmt.Errorf("create rate_limits: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create rate_limits: %w", err)
	}
	return nil
}

// PGBucket is a Bucket in a PostgreSQL row, so that every process using a
// provider key shares one limit and one 429 hold (issue 7). Each method is
// one statement, atomic under the row lock, and uses the database's clock,
// so workers on machines with skewed clocks agree; waits come back as
// durations, never as timestamps.
//
// The AIMD rate factor is shared too (see FactorBucket): a 429 cuts the
// rate of every process, and its hold stops everyone.
type PGBucket struct {
	db  *sql.DB
	key string
}

var _ Bucket = (*PGBucket)(nil)

// NewPGBucket returns the bucket for key in db's rate_limits table.
func NewPGBucket(db *sql.DB, key string) *PGBucket { return &PGBucket{db: db, key: key} }

// Durations travel as microseconds, PostgreSQL's timestamp resolution.
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
const insertSQL = `INSERT INTO rate_limits (key, next_request_at, next_token_at)
VALUES ($1, clock_timestamp() + $2::bigint ` + us + `, clock_timestamp() + $3::bigint ` + us + `)
ON CONFLICT (key) DO NOTHING`

func (b *PGBucket) Take(ctx context.Context, t Take) (time.Duration, error) {
	_, wait, err := b.take(ctx, t)
	return wait, err
}

// take also returns the start time on the database's clock, for tests.
func (b *PGBucket) take(ctx context.Context, t Take) (time.Time, time.Duration, error) {
	for range 2 {
		var start time.Time
		var wait int64
		err := b.db.QueryRowContext(ctx, takeSQL, b.key,
			t.RequestCost.Microseconds(), t.RequestTolerance.Microseconds(),
			t.TokenCost.Microseconds(), t.TokenTolerance.Microseconds()).Scan(&start, &wait)
		if err == nil {
			return start, time.Duration(wait) * time.Microsecond, nil
		}
		if err != sql.ErrNoRows {
			return time.Time{}, 0, fmt.Errorf("rate limit %s: take: %w", b.key, err)
		}
		if _, err := b.db.ExecContext(ctx, insertSQL, b.key,
			t.RequestTolerance.Microseconds(), t.TokenTolerance.Microseconds()); err != nil {
			return time.Time{}, 0, fmt.Errorf("rate limit %s: create: %w", b.key, err)
		}
	}
	return time.Time{}, 0, fmt.Errorf("rate limit %s: the row vanished while taking", b.key)
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

func (b *PGBucket) Adjust(ctx context.Context, requests, tokens time.Duration) error {
	if requests == 0 && tokens == 0 {
		return nil
	}
	return b.exec(ctx, "adjust", adjustSQL, requests.Microseconds(), tokens.Microseconds())
}

const drainSQL = `UPDATE rate_limits SET
	next_request_at = CASE WHEN $2::bigint > 0 THEN greatest(next_request_at, clock_timestamp() + $2::bigint ` + us + `) ELSE next_request_at END,
	next_token_at = CASE WHEN $3::bigint > 0 THEN greatest(next_token_at, clock_timestamp() + $3::bigint ` + us + `) ELSE next_token_at END
WHERE key = $1`

func (b *PGBucket) Drain(ctx context.Context, requests, tokens time.Duration) error {
	if requests <= 0 && tokens <= 0 {
		return nil
	}
	return b.exec(ctx, "drain", drainSQL, requests.Microseconds(), tokens.Microseconds())
}

const holdSQL = `UPDATE rate_limits SET penalty_until = greatest(penalty_until, clock_timestamp() + $2::bigint ` + us + `) WHERE key = $1`

func (b *PGBucket) Hold(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	return b.exec(ctx, "hold", holdSQL, d.Microseconds())
}

// exec updates the key's row. A row that does not exist yet is left
// alone: corrections only ever follow a Take, which creates it.
func (b *PGBucket) exec(ctx context.Context, what, query string, args ...any) error {
	if _, err := b.db.ExecContext(ctx, query, append([]any{b.key}, args...)...); err != nil {
		return fmt.Errorf("rate limit %s: %s: %w", b.key, what, err)
	}
	return nil
}
