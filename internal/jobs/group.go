package jobs

import (
	"fmt"
	"sync"
)

// groupCommit commits the operations that arrive together in one
// transaction. On SQLite every write waits for the single connection, and
// an item's transactions (its start, and its outcome: about twenty
// statements and a commit) were the queue every worker stood in; a batch
// pays the commit, and for outcomes the job's settling and the next
// items' release, once.
//
// There is no committing goroutine to start or stop: the first operation
// to arrive while nothing is being committed leads, committing everything
// pending; operations arriving meanwhile wait, and when the leader is done
// the first of them leads the next batch.
type groupCommit[T any] struct {
	mu      sync.Mutex
	busy    bool
	pending []*waiter[T]
}

type waiter[T any] struct {
	op   T
	wake chan bool // true once committed, false to lead the next batch
}

// maxGroup bounds a batch, and so how long one transaction holds the
// connection.
const maxGroup = 64

// submit returns once commit has run with op in its batch. commit records
// each operation's result in the operation itself. Should commit panic,
// fail gives every operation of the batch an error, the next batch is
// still led, and the panic goes on in the leader (River records it as its
// job's failure): a group left busy would stop every worker for good.
func (g *groupCommit[T]) submit(op T, commit func([]T), fail func(T, error)) {
	w := &waiter[T]{op: op, wake: make(chan bool, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, w)
	if g.busy {
		g.mu.Unlock()
		if committed := <-w.wake; committed {
			return
		}
		// Promoted: w is first in pending, and leads.
		g.mu.Lock()
	}
	g.busy = true
	n := min(len(g.pending), maxGroup)
	batch := g.pending[:n:n]
	g.pending = append([]*waiter[T](nil), g.pending[n:]...)
	g.mu.Unlock()

	ops := make([]T, len(batch))
	for i, b := range batch {
		ops[i] = b.op
	}
	defer g.handOff(w, batch)
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("jobs: committing a batch of %d panicked: %v", len(ops), r)
			for _, o := range ops {
				fail(o, err)
			}
			panic(r)
		}
	}()
	commit(ops)
}

// handOff wakes the batch's other operations, then the next leader.
func (g *groupCommit[T]) handOff(w *waiter[T], batch []*waiter[T]) {
	for _, b := range batch {
		if b != w {
			b.wake <- true
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
}
