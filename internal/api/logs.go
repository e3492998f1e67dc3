package api

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	entop "github.com/orchestra-panel/orchestra/internal/store/ent/operation"
	"github.com/orchestra-panel/orchestra/internal/store/ent/predicate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Log is an execution log: one unit of work and how running it went.
type Log struct {
	ID         int        `json:"id"`
	Server     int        `json:"server"`
	Backend    string     `json:"backend"`
	State      string     `json:"state" enum:"RECEIVED,STARTED,SUCCESS,FAILURE,ERROR,TIMEOUT,ABORTED,NOTHING"`
	Async      bool       `json:"async"`
	Script     string     `json:"script,omitempty"`
	Stdout     string     `json:"stdout,omitempty" doc:"Written while the script runs: read it again to follow."`
	Stderr     string     `json:"stderr,omitempty"`
	ExitCode   *int       `json:"exit_code,omitempty"`
	Error      string     `json:"error,omitempty" doc:"Why, for states no exit code explains."`
	Attempts   int        `json:"attempts"`
	RetryOf    *int       `json:"retry_of,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	NextTry    *time.Time `json:"next_attempt_at,omitempty"`
}

func logOut(l *ent.ExecutionLog) Log {
	return Log{ID: l.ID, Server: l.ServerID, Backend: l.Backend, State: l.State, Async: l.Async, Script: l.Script,
		Stdout: l.Stdout, Stderr: l.Stderr, ExitCode: l.ExitCode, Error: l.Error, Attempts: l.Attempts,
		RetryOf: l.RetryOf, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt, StartedAt: l.StartedAt,
		FinishedAt: l.FinishedAt, NextTry: l.NextAttemptAt}
}

// logSummary leaves the long texts out of lists.
func logSummary(l *ent.ExecutionLog) Log {
	out := logOut(l)
	out.Script, out.Stdout, out.Stderr = "", "", ""
	return out
}

// Operation is what a change asked of one backend for one object.
type Operation struct {
	ID        int       `json:"id"`
	Log       *int      `json:"log,omitempty" doc:"Absent when no route took it (state SKIPPED)."`
	Server    *int      `json:"server,omitempty"`
	Backend   string    `json:"backend"`
	Action    string    `json:"action"`
	Model     string    `json:"model"`
	ObjectID  int       `json:"object_id"`
	Repr      string    `json:"repr"`
	Account   *int      `json:"account,omitempty"`
	State     string    `json:"state" enum:"RECEIVED,STARTED,SUCCESS,FAILURE,ERROR,TIMEOUT,ABORTED,NOTHING,SKIPPED"`
	CreatedAt time.Time `json:"created_at"`
}

func operationOut(o *ent.Operation) Operation {
	return Operation{ID: o.ID, Log: o.LogID, Server: o.ServerID, Backend: o.Backend, Action: o.Action, Model: o.Model,
		ObjectID: o.ObjectID, Repr: o.Repr, Account: o.AccountID, State: o.State, CreatedAt: o.CreatedAt}
}

var logListing = Listing{
	Orderable: []string{"id", "created_at", "updated_at", "state", "backend", "server_id"},
	Search:    []string{"backend", "error"},
	Default:   "-id",
	Unique:    []string{"id"},
}

var operationListing = Listing{
	Orderable: []string{"id", "created_at", "state", "model", "backend"},
	Search:    []string{"repr", "model", "backend"},
	Default:   "-id",
	Unique:    []string{"id"},
}

// idList parses "1,2,3".
func idList(ctx context.Context, s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 {
			return nil, huma.Error422UnprocessableEntity(i18n.T(ctx, "validation failed"),
				&huma.ErrorDetail{Location: "query.ids", Value: part, Message: i18n.T(ctx, "Enter ids separated by commas.")})
		}
		out = append(out, n)
	}
	return out, nil
}

func (s *Server) logRoutes() {
	huma.Register(s.api, present(op("list-logs", http.MethodGet, "/logs", "List execution logs (staff)", "Orchestration"), logListing, Presentation{Name: "log", Label: "Execution logs", Singular: "Execution log", Group: "administration", Title: "id", Columns: []string{"state", "backend", "server", "attempts", "exit_code", "created_at", "finished_at"}, Refs: map[string]string{"retry_of": "log"}, Staff: true, ReadOnly: true, Type: "ExecutionLog"}),
		func(ctx context.Context, in *struct {
			ListParams
			Server  int    `query:"server" minimum:"0"`
			Backend string `query:"backend" maxLength:"128"`
			State   string `query:"state" enum:"RECEIVED,STARTED,SUCCESS,FAILURE,ERROR,TIMEOUT,ABORTED,NOTHING"`
			RetryOf int    `query:"retry_of" minimum:"0"`
			IDs     string `query:"ids" maxLength:"2000" doc:"Only these logs: ids separated by commas."`
		}) (*struct{ Body *Page[Log] }, error) {
			ids, err := idList(ctx, in.IDs)
			if err != nil {
				return nil, err
			}
			where, order, err := logListing.plan(ctx, in.ListParams,
				eq("server_id", in.Server, "backend", in.Backend, "state", in.State, "retry_of", in.RetryOf))
			if err != nil {
				return nil, err
			}
			q := s.st.ExecutionLog.Query().Where(predicate.ExecutionLog(where))
			if ids != nil {
				q = q.Where(executionlog.IDIn(ids...))
			}
			for _, o := range order {
				q = q.Order(executionlog.OrderOption(o))
			}
			page, err := paginate(ctx, q, in.ListParams, logSummary)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct{ Body *Page[Log] }{page}, nil
		})

	huma.Register(s.api, op("get-log", http.MethodGet, "/logs/{id}", "Get an execution log with its script and output (staff)", "Orchestration"),
		func(ctx context.Context, in *IDPath) (*struct {
			Body struct {
				Log
				Operations []Operation `json:"operations"`
			}
		}, error) {
			l, err := s.st.ExecutionLog.Get(ctx, in.ID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			ops, err := s.st.Operation.Query().Where(entop.LogID(l.ID)).Order(ent.Asc(entop.FieldID)).All(ctx)
			if err != nil {
				return nil, fail(ctx, err)
			}
			out := &struct {
				Body struct {
					Log
					Operations []Operation `json:"operations"`
				}
			}{}
			out.Body.Log = logOut(l)
			out.Body.Operations = make([]Operation, len(ops))
			for i, o := range ops {
				out.Body.Operations[i] = operationOut(o)
			}
			return out, nil
		})

	retry := op("retry-log", http.MethodPost, "/logs/{id}/retry", "Run a finished log's operations again on its server (staff)", "Orchestration")
	retry.DefaultStatus = http.StatusAccepted
	retry.Description = "Saves are applied with the objects as they are now (an object deleted since is left out), " +
		"deletes from the snapshot taken when the object was deleted, unless another object has that name on the server now (such a delete is left out and the answer says so). The answer names the new log."
	huma.Register(s.api, retry, func(ctx context.Context, in *IDPath) (*struct {
		Location string `header:"Location"`
		Body     PlannedUnit
	}, error) {
		if _, err := s.st.ExecutionLog.Get(ctx, in.ID); err != nil {
			return nil, fail(ctx, err)
		}
		ex, err := s.executor(ctx)
		if err != nil {
			return nil, err
		}
		u, err := ex.Retry(ctx, in.ID)
		if errors.Is(err, orchestration.ErrNotRetryable) {
			return nil, huma.Error409Conflict(i18n.T(ctx, "The log has not finished; only a finished log can be retried."))
		}
		if err != nil {
			return nil, selectionFail(ctx, err)
		}
		out := &struct {
			Location string `header:"Location"`
			Body     PlannedUnit
		}{Body: plannedOut(u, false)}
		if u.LogID != 0 {
			out.Location = Prefix + "/logs/" + strconv.Itoa(u.LogID)
		}
		return out, nil
	})

	huma.Register(s.api, present(op("list-operations", http.MethodGet, "/operations", "List operations (an account sees its own)", "Orchestration"), operationListing, Presentation{Name: "operation", Label: "Operations", Singular: "Operation", Group: "activity", Title: "id", Columns: []string{"state", "action", "model", "repr", "backend", "server", "log", "created_at"}, ReadOnly: true, Staff: true}),
		func(ctx context.Context, in *struct {
			ListParams
			IDs      string `query:"ids" maxLength:"2000" doc:"Only these operations: ids separated by commas, as a write's Orchestra-Operations header lists them."`
			Changes  string `query:"changes" maxLength:"2000" doc:"Only the operations of these changes: ids separated by commas, as a write's Orchestra-Changes header lists them. The answer's Orchestra-Unplanned header counts those of the changes not planned yet, whose operations are still to come."`
			Log      int    `query:"log" minimum:"0"`
			Model    string `query:"model" maxLength:"64"`
			ObjectID int    `query:"object_id" minimum:"0"`
			State    string `query:"state" enum:"RECEIVED,STARTED,SUCCESS,FAILURE,ERROR,TIMEOUT,ABORTED,NOTHING,SKIPPED"`
			Account  int    `query:"account" minimum:"0"`
		}) (*operationPage, error) {
			ids, err := idList(ctx, in.IDs)
			if err != nil {
				return nil, err
			}
			changes, err := idList(ctx, in.Changes)
			if err != nil {
				return nil, err
			}
			where, order, err := operationListing.plan(ctx, in.ListParams, eq("log_id", in.Log, "model", in.Model,
				"object_id", in.ObjectID, "state", in.State, "account_id", in.Account))
			if err != nil {
				return nil, err
			}
			q := s.st.Operation.Query().Where(predicate.Operation(where))
			if ids != nil {
				q = q.Where(entop.IDIn(ids...))
			}
			out := &operationPage{}
			if changes != nil {
				q = q.Where(entop.ChangeIDIn(changes...))
				// counted before the list is read: none unplanned then
				// means the list holds every operation of the changes
				if out.Unplanned, err = s.unplanned(ctx, changes); err != nil {
					return nil, fail(ctx, err)
				}
			}
			for _, o := range order {
				q = q.Order(entop.OrderOption(o))
			}
			if out.Body, err = paginate(ctx, q, in.ListParams, operationOut); err != nil {
				return nil, fail(ctx, err)
			}
			return out, nil
		})

	huma.Register(s.api, op("get-operation", http.MethodGet, "/operations/{id}", "Get an operation", "Orchestration"),
		func(ctx context.Context, in *IDPath) (*struct{ Body Operation }, error) {
			o, err := s.st.Operation.Get(ctx, in.ID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct{ Body Operation }{operationOut(o)}, nil
		})
}

type operationPage struct {
	Unplanned int `header:"Orchestra-Unplanned"`
	Body      *Page[Operation]
}

// unplanned counts the changes among ids, of the viewer's account unless
// staff (or the system: the command line), that the planner has not turned
// into operations yet.
func (s *Server) unplanned(ctx context.Context, ids []int) (int, error) {
	q := s.st.Change.Query().Where(change.IDIn(ids...), change.PlannedAtIsNil())
	if v, _ := viewer.From(ctx); !v.Unrestricted() {
		q = q.Where(change.AccountID(v.AccountID))
	}
	return q.Count(viewer.System(ctx, viewer.ChannelSystem))
}

// Headers of a write's orchestration (see docs/api.md).
const (
	headerOperations = "Orchestra-Operations"
	headerChanges    = "Orchestra-Changes"
	headerOutcome    = "Orchestra-Outcome"
	maxListedOps     = 100
)

// follow plans the changes a write committed before it answers and, as
// asked with Prefer (RFC 7240), waits for their units: by default for those
// of synchronous routes up to ORCHESTRATION_SYNC_WAIT; "wait=N" for all of
// them up to N seconds (at most ORCHESTRATION_MAX_WAIT); "respond-async"
// not at all. The answer lists the operations, links to poll them and sums
// them up in Orchestra-Outcome.
func (s *Server) follow(next http.Handler) http.Handler {
	if s.cfg.Executor == nil {
		return next // the durable planning job plans; nothing to wait for here
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		ctx, tracker := orchestration.Track(r.Context())
		buf := &heldResponse{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(buf, r.WithContext(ctx))
		if changes := tracker.Changes(); len(changes) > 0 && buf.status < 400 {
			wait, syncOnly, applied := preference(r.Header.Values("Prefer"))
			ids := make([]string, 0, min(len(changes), maxListedOps))
			for _, c := range changes[:min(len(changes), maxListedOps)] {
				ids = append(ids, strconv.Itoa(c))
			}
			list := strings.Join(ids, ",")
			w.Header().Set(headerChanges, list)
			if applied == "respond-async" {
				// planned by the planning loop, which the commit woke: the
				// answer does not wait for a pass, so writes stream at the
				// rate the store takes them and passes take them in batches
				w.Header().Set(headerOutcome, orchestration.StatePending)
				w.Header().Add("Link", "<"+Prefix+"/operations?changes="+list+">; rel=\"monitor\"")
				w.Header().Set("Preference-Applied", applied)
				buf.release()
				return
			}
			out, err := s.cfg.Executor.Follow(viewer.System(ctx, viewer.ChannelSystem), changes, wait, syncOnly)
			if err != nil {
				// committed already: the planning job will plan it; say so
				w.Header().Set(headerOutcome, orchestration.StatePending)
			} else if len(out.Operations) > 0 {
				ids := make([]string, 0, min(len(out.Operations), maxListedOps))
				for _, op := range out.Operations[:min(len(out.Operations), maxListedOps)] {
					ids = append(ids, strconv.Itoa(op.ID))
				}
				list := strings.Join(ids, ",")
				w.Header().Set(headerOperations, list)
				w.Header().Set(headerOutcome, out.State)
				w.Header().Add("Link", "<"+Prefix+"/operations?ids="+list+">; rel=\"monitor\"")
			}
			if applied != "" {
				w.Header().Set("Preference-Applied", applied)
			}
		}
		buf.release()
	})
}

// preference reads Prefer: how long to wait, whether for synchronous
// routes only, and what to echo in Preference-Applied.
func preference(values []string) (wait time.Duration, syncOnly bool, applied string) {
	wait, syncOnly = orchestration.SyncWait.Get(), true
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "respond-async":
				return 0, true, "respond-async"
			case "wait":
				if n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`)); err == nil && n >= 0 {
					wait = min(time.Duration(n)*time.Second, orchestration.MaxWait.Get())
					syncOnly = false
					applied = "wait=" + strconv.Itoa(int(wait/time.Second))
				}
			}
		}
	}
	return wait, syncOnly, applied
}

// heldResponse holds a handler's answer until the write's units are
// followed, so their headers can precede it.
type heldResponse struct {
	http.ResponseWriter
	status  int
	written bool
	body    bytes.Buffer
}

func (h *heldResponse) WriteHeader(code int) {
	if !h.written {
		h.status, h.written = code, true
	}
}

func (h *heldResponse) Write(b []byte) (int, error) {
	h.written = true
	return h.body.Write(b)
}

func (h *heldResponse) release() {
	h.ResponseWriter.WriteHeader(h.status)
	h.ResponseWriter.Write(h.body.Bytes())
}
