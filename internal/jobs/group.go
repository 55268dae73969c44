package jobs

import "sync"

// groupCommit commits the items' outcomes that arrive together in one
// transaction. On SQLite every write waits for the single connection, and
// an item's transaction (about twenty statements and a commit) was the
// queue every worker stood in; a batch pays the commit, the job's
// settling and the next items' release once.
//
// There is no committing goroutine to start or stop: the first outcome to
// arrive while nothing is being committed leads, committing everything
// pending; outcomes arriving meanwhile wait, and when the leader is done
// the first of them leads the next batch.
type groupCommit struct {
	mu      sync.Mutex
	busy    bool
	pending []*finish
}

// maxGroup bounds a batch, and so how long one transaction holds the
// connection.
const maxGroup = 64

func (g *groupCommit) submit(f *finish, commit func([]*finish)) error {
	g.mu.Lock()
	g.pending = append(g.pending, f)
	if g.busy {
		g.mu.Unlock()
		if committed := <-f.wake; committed {
			return f.err
		}
		// Promoted: f is first in pending, and leads.
		g.mu.Lock()
	}
	g.busy = true
	n := min(len(g.pending), maxGroup)
	batch := g.pending[:n:n]
	g.pending = append([]*finish(nil), g.pending[n:]...)
	g.mu.Unlock()

	commit(batch)
	for _, o := range batch {
		if o != f {
			o.wake <- true
		}
	}

	g.mu.Lock()
	if len(g.pending) > 0 {
		next := g.pending[0]
		g.mu.Unlock()
		next.wake <- false
	} else {
		g.busy = false
		g.mu.Unlock()
	}
	return f.err
}
