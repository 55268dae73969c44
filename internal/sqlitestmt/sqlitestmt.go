// Package sqlitestmt opens SQLite handles whose connections keep their
// prepared statements.
//
// modernc.org/sqlite compiles the SQL text again for every db.Query and
// db.Exec that does not go through a prepared statement, and nearly all of
// ours and all of River's do not. Compiling is most of what a short query
// costs: before this package, SQLite's parser and code generator took about
// 45% of the CPU of a job on a zero-latency writer (docs/benchmarks.md,
// "Overhead"). Here each connection keeps the statements it has compiled,
// keyed by their text, and runs the same text again without compiling it.
// SQLite re-prepares a kept statement by itself if the schema changes.
package sqlitestmt

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"modernc.org/sqlite"
)

// DefaultSize is how many statements each connection keeps. The store and
// River run a few dozen distinct statements; the rest of the room absorbs
// the ones built with a variable number of placeholders.
const DefaultSize = 256

// maxCachedLen leaves out very long texts (migration scripts, IN lists of
// literals): they are run once, and keeping them would only evict the
// statements that repeat.
const maxCachedLen = 8 << 10

// Open is sql.Open("sqlite", dsn) with each connection keeping up to size
// prepared statements.
func Open(dsn string, size int) (*sql.DB, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		size = DefaultSize
	}
	return sql.OpenDB(&connector{base: base, size: size}), nil
}

type connector struct {
	base driver.Connector
	size int
}

func (c *connector) Driver() driver.Driver { return c.base.Driver() }

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := dc.(innerConn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("sqlitestmt: the sqlite driver's connection (%T) lacks the interfaces this package forwards", dc)
	}
	return &conn{inner: inner, size: c.size, byText: make(map[string]*list.Element)}, nil
}

// innerConn is every optional interface modernc's connections implement
// and database/sql looks for; hiding one would silently change behaviour
// (see the note on sqlite.NewConnector).
type innerConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type innerStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// conn is used by one goroutine at a time (database/sql holds it while a
// call runs), but a transaction may run a statement again while rows of the
// same text are still open: such a statement is busy, and the second run
// compiles a statement of its own.
type conn struct {
	inner  innerConn
	size   int
	byText map[string]*list.Element // of *entry
	lru    list.List                // front: most recently used
}

type entry struct {
	text    string
	stmt    innerStmt
	busy    bool
	evicted bool // dropped from the cache while busy: close it when given back
}

// Unwrap gives sqlite.Limit and its kin the driver's own connection.
func (c *conn) Unwrap() driver.Conn { return c.inner }

func (c *conn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner.PrepareContext(ctx, query)
}
func (c *conn) Begin() (driver.Tx, error) { return c.inner.Begin() } //nolint:staticcheck // forwarded for completeness
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.BeginTx(ctx, opts)
}
func (c *conn) Ping(ctx context.Context) error         { return c.inner.Ping(ctx) }
func (c *conn) ResetSession(ctx context.Context) error { return c.inner.ResetSession(ctx) }
func (c *conn) IsValid() bool                          { return c.inner.IsValid() }

func (c *conn) Close() error {
	for e := c.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*entry).stmt.Close()
	}
	c.lru.Init()
	clear(c.byText)
	return c.inner.Close()
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, err := c.take(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case e == nil:
		return c.inner.ExecContext(ctx, query, args)
	}
	res, err := e.stmt.ExecContext(ctx, args)
	c.give(e, err)
	return res, err
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	e, err := c.take(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case e == nil:
		return c.inner.QueryContext(ctx, query, args)
	}
	r, err := e.stmt.QueryContext(ctx, args)
	if err != nil {
		c.give(e, err)
		return nil, err
	}
	full, ok := r.(innerRows)
	if !ok {
		// Not what modernc returns today; serve the rows, but stop keeping
		// a statement whose rows we cannot wrap.
		r.Close()
		c.give(e, errUnwrappableRows)
		return c.inner.QueryContext(ctx, query, args)
	}
	return &rows{innerRows: full, release: func(err error) { c.give(e, err) }}, nil
}

var errUnwrappableRows = errors.New("sqlitestmt: rows cannot be wrapped")

// take returns the kept statement for query, compiling and keeping it if
// need be, marked busy; nil (and no error) means "run it uncached".
func (c *conn) take(ctx context.Context, query string) (*entry, error) {
	if len(query) > maxCachedLen {
		return nil, nil
	}
	if el, ok := c.byText[query]; ok {
		e := el.Value.(*entry)
		if e.busy {
			return nil, nil
		}
		c.lru.MoveToFront(el)
		e.busy = true
		return e, nil
	}
	ds, err := c.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	st, ok := ds.(innerStmt)
	if !ok {
		ds.Close()
		return nil, nil
	}
	e := &entry{text: query, stmt: st, busy: true}
	c.byText[query] = c.lru.PushFront(e)
	for c.lru.Len() > c.size {
		c.evict(c.lru.Back())
	}
	return e, nil
}

// give hands a statement back. One that failed is dropped: an error can
// leave a statement in a state we have no reason to trust, and recompiling
// after an error costs nothing that matters.
func (c *conn) give(e *entry, err error) {
	e.busy = false
	switch {
	case e.evicted:
		e.stmt.Close()
	case err != nil:
		c.evict(c.byText[e.text])
	}
}

func (c *conn) evict(el *list.Element) {
	e := el.Value.(*entry)
	c.lru.Remove(el)
	delete(c.byText, e.text)
	if e.busy {
		// Its rows are still open and closing the statement would end
		// them; give closes it when they are done.
		e.evicted = true
		return
	}
	e.stmt.Close()
}

type innerRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// rows gives its statement back when closed. database/sql closes rows
// before it lets the connection run anything else on a plain *sql.DB, and
// always closes them eventually.
type rows struct {
	innerRows
	release func(error)
	closed  bool
	nextErr error
}

func (r *rows) Next(dest []driver.Value) error {
	err := r.innerRows.Next(dest)
	if err != nil && err != io.EOF {
		r.nextErr = err
	}
	return err
}

func (r *rows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.innerRows.Close()
	failed := err
	if failed == nil {
		failed = r.nextErr
	}
	r.release(failed)
	return err
}
