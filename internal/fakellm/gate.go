package fakellm

import (
	"context"
	"sync"
)

// gate lets a test decide when answers go out: while held, each chat
// request waits for a permit. Latency cannot do this on a loaded machine:
// a job whose calls take a fixed time may finish before a browser has
// even drawn its page, or not yet have moved when the test needs it to.
type gate struct {
	mu      sync.Mutex
	held    bool
	permits int
	waiting int
	changed chan struct{} // closed and replaced on every change
}

func newGate() *gate { return &gate{changed: make(chan struct{})} }

func (g *gate) update(f func()) {
	g.mu.Lock()
	f()
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
}

// wait returns true when the request may be answered, false when its
// client went away first. done (the server's shutdown) lets it through.
func (g *gate) wait(ctx context.Context, done <-chan struct{}) bool {
	counted := false
	// Leaving is counted under the same lock as the permit taken, so
	// Held never shows a request both admitted and waiting.
	leave := func() {
		if counted {
			g.waiting--
			close(g.changed)
			g.changed = make(chan struct{})
		}
	}
	for {
		g.mu.Lock()
		if !g.held {
			leave()
			g.mu.Unlock()
			return true
		}
		if g.permits > 0 {
			g.permits--
			leave()
			g.mu.Unlock()
			return true
		}
		if !counted {
			counted = true
			g.waiting++
			close(g.changed)
			g.changed = make(chan struct{})
		}
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			g.mu.Lock()
			leave()
			g.mu.Unlock()
			return false
		case <-done:
			g.mu.Lock()
			leave()
			g.mu.Unlock()
			return true
		}
	}
}

// Hold makes chat requests wait until Admit lets them through or Unhold
// ends the hold.
func (s *Server) Hold() { s.gate.update(func() { s.gate.held, s.gate.permits = true, 0 }) }

// Admit lets n more held requests through, now or as they arrive.
func (s *Server) Admit(n int) { s.gate.update(func() { s.gate.permits += n }) }

// Unhold answers every waiting request and stops holding new ones.
func (s *Server) Unhold() { s.gate.update(func() { s.gate.held, s.gate.permits = false, 0 }) }

// Held returns how many chat requests wait at the gate and how many
// admitted permits no request has taken yet.
func (s *Server) Held() (waiting, permits int) {
	s.gate.mu.Lock()
	defer s.gate.mu.Unlock()
	return s.gate.waiting, s.gate.permits
}
