package api

import (
	"context"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
)

// ActionResult is what a system user's custom action did on its servers.
type ActionResult struct {
	State string       `json:"state" doc:"The most serious state of its units, PENDING if the wait ended first, empty if no server is routed."`
	Units []ActionUnit `json:"units"`
}

// ActionUnit is one server's run of an action.
type ActionUnit struct {
	Log    int    `json:"log"`
	Server int    `json:"server"`
	State  string `json:"state"`
	Output string `json:"output" doc:"What the action printed on the server."`
}

// Action runs a custom action of a backend for one object of model on the
// servers its routes pick, waiting as a write does (prefer is the request's
// Prefer header).
func (s *Server) Action(ctx context.Context, model string, id int, prefer, backend, action string, args map[string]string) (*struct{ Body ActionResult }, error) {
	// the planner decides who may ask and checks the arguments
	ex, err := s.executor(ctx)
	if err != nil {
		return nil, err
	}
	units, err := ex.Orchestrate(ctx, orchestration.Selection{Model: model, IDs: []int{id},
		Backend: backend, Action: action, Args: args}, false)
	if err != nil {
		return nil, selectionFail(ctx, err)
	}
	wait, _, _ := preference([]string{prefer})
	wctx, cancel := context.WithTimeout(ctx, max(wait, orchestration.SyncWait.Get()))
	defer cancel()
	var ids []int
	for _, u := range units {
		if u.LogID != 0 {
			ids = append(ids, u.LogID)
		}
	}
	out := &struct{ Body ActionResult }{ActionResult{Units: []ActionUnit{}}}
	if len(ids) == 0 {
		return out, nil
	}
	logs, err := ex.Await(wctx, ids)
	if err != nil {
		return nil, fail(ctx, err)
	}
	for _, l := range logs {
		state := l.State
		if !orchestration.Final(state) {
			state = orchestration.StatePending
		}
		out.Body.Units = append(out.Body.Units, ActionUnit{Log: l.ID, Server: l.ServerID, State: state, Output: l.Stdout + l.Stderr})
		if out.Body.State == "" || state != orchestration.StateSuccess && out.Body.State == orchestration.StateSuccess {
			out.Body.State = state
		}
	}
	return out, nil
}
