package sqldialect

import (
	"context"
	"database/sql"
	"sync"
)

// Querier is what both *sql.DB and *sql.Tx offer.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// maxCachedStmts bounds the cache: query texts are built from a small set
// of shapes, and anything past the bound simply runs unprepared.
const maxCachedStmts = 512

// Stmts caches the prepared statements of one *sql.DB. modernc's SQLite
// parses and plans every statement it is given anew, which profiling
// showed to be a third of the job engine's CPU; pgx caches statements per
// connection itself, so a Stmts for PostgreSQL is not needed.
//
// Statements run on a *sql.Tx of the same DB reuse the statement already
// prepared on the transaction's connection (database/sql keeps one per
// connection), so the single SQLite write connection prepares each query
// once for the life of the process. A statement is never prepared through
// the DB while a transaction may hold its only connection: inside a
// transaction a query not cached yet runs unprepared, and is prepared in
// the background once the connection is free.
type Stmts struct {
	db      *sql.DB
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool
}

// NewStmts returns a cache for db.
func NewStmts(db *sql.DB) *Stmts {
	return &Stmts{db: db, m: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// lookup returns the cached statement, or nil and whether the caller
// should prepare it (it is neither cached, pending nor over the bound).
func (c *Stmts) lookup(query string) (*sql.Stmt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, false
	}
	if c.pending[query] || len(c.m)+len(c.pending) >= maxCachedStmts {
		return nil, false
	}
	c.pending[query] = true
	return nil, true
}

// prepare prepares query on the DB without holding the lock, which a
// caller inside a transaction may need meanwhile.
func (c *Stmts) prepare(ctx context.Context, query string) *sql.Stmt {
	st, err := c.db.PrepareContext(ctx, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, query)
	if err != nil {
		return nil // run it unprepared: the error, if any, comes from there
	}
	c.m[query] = st
	return st
}

// on returns the cached statement for query bound to q, or nil when it
// must run unprepared.
func (c *Stmts) on(ctx context.Context, q Querier, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	switch v := q.(type) {
	case *sql.DB:
		if v != c.db {
			return nil
		}
		st, mine := c.lookup(query)
		if mine {
			st = c.prepare(ctx, query)
		}
		return st
	case *sql.Tx:
		st, mine := c.lookup(query)
		if mine {
			go c.prepare(context.Background(), query)
		}
		if st != nil {
			return v.StmtContext(ctx, st)
		}
	}
	return nil
}

// Exec runs query on q, prepared once.
func (c *Stmts) Exec(ctx context.Context, q Querier, query string, args ...any) (sql.Result, error) {
	if st := c.on(ctx, q, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.ExecContext(ctx, query, args...)
}

// Query runs query on q, prepared once.
func (c *Stmts) Query(ctx context.Context, q Querier, query string, args ...any) (*sql.Rows, error) {
	if st := c.on(ctx, q, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.QueryContext(ctx, query, args...)
}

// QueryRow runs query on q, prepared once.
func (c *Stmts) QueryRow(ctx context.Context, q Querier, query string, args ...any) *sql.Row {
	if st := c.on(ctx, q, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.QueryRowContext(ctx, query, args...)
}

// Close closes the cached statements.
func (c *Stmts) Close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, st := range c.m {
		st.Close()
		delete(c.m, k)
	}
}
