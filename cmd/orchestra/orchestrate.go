package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/orchestra-panel/orchestra/internal/mailer"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/server"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// OrchestrateCmd applies objects to their servers as they are now.
type OrchestrateCmd struct {
	Model   string `help:"Only objects of this model (e.g. Account); all models a backend serves when omitted."`
	IDs     []int  `name:"id" help:"Only these object ids (repeat or separate with commas)." sep:","`
	Filter  string `help:"Only objects this expression holds for, as a route's match (e.g. 'account.username startsWith \"a\"')."`
	Server  string `help:"Only units for this server (name or id)."`
	Backend string `help:"Only this backend."`
	Action  string `help:"Action to apply: save, delete or a backend's custom action." default:"save"`
	DryRun  bool   `help:"Print the scripts and run nothing."`
}

// Run plans the selection and, unless a dry run, runs its units here
// (sharing lanes with any serving process) while streaming their output.
// It fails when a unit does not end in SUCCESS or NOTHING.
func (c *OrchestrateCmd) Run(cli *CLI) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = viewer.System(ctx, viewer.ChannelCLI)
	if err := loadSecretKey(cli); err != nil { // scripts, dry runs' too, hold unsealed keys
		return err
	}
	st, err := open(ctx, cli)
	if err != nil {
		return err
	}
	defer st.Close()
	sel := orchestration.Selection{Model: c.Model, IDs: c.IDs, Filter: c.Filter, Backend: c.Backend, Action: c.Action}
	if c.Server != "" {
		srv, err := findServer(ctx, st, c.Server)
		if err != nil {
			return err
		}
		sel.ServerID = srv.ID
	}
	if c.DryRun {
		units, err := orchestration.NewPlanner(st).Orchestrate(ctx, sel, true)
		if err != nil {
			return err
		}
		for _, u := range units {
			fmt.Printf("# server %s, backend %s, %d operation(s): %s\n", u.Server.Name, u.Backend, u.Operations, u.State)
			if u.Problem != "" {
				fmt.Printf("# %s\n", u.Problem)
			}
			fmt.Print(u.Script)
			fmt.Println()
		}
		if len(units) == 0 {
			fmt.Println("# nothing selected reaches a server")
		}
		return nil
	}
	signer, err := sshpool.LoadOrCreateKey(cli.SSHKey)
	if err != nil {
		return err
	}
	pool, err := sshpool.New(sshpool.Config{Signer: signer})
	if err != nil {
		return err
	}
	defer pool.Close()
	ex := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: pool, Passive: true,
		Alert: func(ctx context.Context, a orchestration.Alert) { mailer.Alert(ctx, a) }})
	ex.Start()
	defer ex.Close()
	units, err := ex.Orchestrate(ctx, sel, false)
	if err != nil {
		return err
	}
	if len(units) == 0 {
		fmt.Println("nothing selected reaches a server")
		return nil
	}
	return stream(ctx, st, units, os.Stdout)
}

func findServer(ctx context.Context, st *store.Store, ref string) (*ent.Server, error) {
	q := st.Server.Query().Where(server.Name(ref))
	if id, err := strconv.Atoi(ref); err == nil {
		q = st.Server.Query().Where(server.Or(server.ID(id), server.Name(ref)))
	}
	srv, err := q.First(ctx)
	if ent.IsNotFound(err) {
		return nil, fmt.Errorf("no server %q", ref)
	}
	return srv, err
}

// stream prints the units' output as their logs receive it, each line
// prefixed with its server and backend, then each unit's outcome.
func stream(ctx context.Context, st *store.Store, units []orchestration.Unit, w io.Writer) error {
	type progress struct {
		unit           orchestration.Unit
		state          string
		stdout, stderr int
	}
	var ps []*progress
	for _, u := range units {
		p := &progress{unit: u}
		if u.LogID == 0 || orchestration.Final(u.State) {
			p.state = u.State
			fmt.Fprintf(w, "[%s %s] %s %s\n", u.Server.Name, u.Backend, u.State, u.Problem)
		}
		ps = append(ps, p)
	}
	for {
		pending := false
		for _, p := range ps {
			if p.state != "" {
				continue
			}
			l, err := st.ExecutionLog.Get(ctx, p.unit.LogID)
			if err != nil {
				return err
			}
			final := orchestration.Final(l.State)
			prefix := fmt.Sprintf("[%s %s] ", p.unit.Server.Name, p.unit.Backend)
			p.stdout = printNew(w, prefix, l.Stdout, p.stdout, final)
			p.stderr = printNew(w, prefix+"stderr: ", l.Stderr, p.stderr, final)
			if !final {
				pending = true
				continue
			}
			p.state = l.State
			fmt.Fprintf(w, "%s%s (log %d)", prefix, l.State, l.ID)
			if l.Error != "" {
				fmt.Fprintf(w, ": %s", l.Error)
			}
			fmt.Fprintln(w)
		}
		if !pending {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted; the units go on in the servers' lanes: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	failed := 0
	for _, p := range ps {
		if p.state != orchestration.StateSuccess && p.state != orchestration.StateNothing {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d unit(s) did not succeed", failed)
	}
	return nil
}

// printNew prints the lines of text past offset, each with prefix, and
// returns the new offset; a last line without its newline waits unless the
// text is final.
func printNew(w io.Writer, prefix, text string, offset int, final bool) int {
	if len(text) <= offset {
		return offset
	}
	rest := text[offset:]
	end := strings.LastIndexByte(rest, '\n') + 1
	if final {
		end = len(rest)
	}
	if end == 0 {
		return offset
	}
	for _, line := range strings.Split(strings.TrimSuffix(rest[:end], "\n"), "\n") {
		fmt.Fprintf(w, "%s%s\n", prefix, line)
	}
	return offset + end
}
