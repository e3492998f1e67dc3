package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/orchestra-panel/orchestra/internal/api"
	mcli "github.com/orchestra-panel/orchestra/internal/cli"
	"github.com/orchestra-panel/orchestra/internal/jobs"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Every model the API declares is a command: orchestra <model> <verb> …,
// its verbs and flags read from the API's OpenAPI document (internal/cli).
// Each is a kong command passing its arguments through.

// modelGroup is the heading of the model commands in orchestra --help.
const modelGroup = "Models (from the API's declarations; orchestra <model> --help lists a model's verbs)"

// modelCmd is one model's command.
type modelCmd struct {
	Args  []string       `arg:"" optional:"" name:"verb" help:"A verb, the object it acts on and its flags."`
	model *mcli.Model    `kong:"-"`
	reg   *mcli.Registry `kong:"-"`
}

// modelCommands adds a command for each declared model, unless args name
// one of the hand-written commands (which need no document).
func modelCommands(args []string) ([]kong.Option, error) {
	static, err := staticCommands()
	if err != nil {
		return nil, err
	}
	if len(args) == 0 || static[args[0]] {
		return nil, nil
	}
	reg, err := modelRegistry()
	if err != nil {
		return nil, err
	}
	var opts []kong.Option
	for _, m := range reg.Models {
		if static[m.Name] {
			continue // the hand-written command keeps its name
		}
		opts = append(opts, kong.DynamicCommand(m.Name, m.Summary(), modelGroup, &modelCmd{model: m, reg: reg}, "cmd", "passthrough"))
	}
	return opts, nil
}

// staticCommands are the names of the hand-written commands.
func staticCommands() (map[string]bool, error) {
	k, err := kong.New(&CLI{}, kong.Name("orchestra"))
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, c := range k.Model.Children {
		out[c.Name] = true
		for _, a := range c.Aliases {
			out[a] = true
		}
	}
	return out, nil
}

// modelRegistry reads the models out of the API's document, built on an
// empty in-memory store (building it reads no data).
func modelRegistry() (*mcli.Registry, error) {
	st, err := store.Open("sqlite::memory:")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return mcli.Load(api.New(st, api.Config{Version: version}).API().OpenAPI()), nil
}

// globalFlags are the program's flags a model command also takes after
// its verb.
var globalFlags = []string{"database", "log-level", "ssh-key", "secret-key"}

// Run performs the verb through the API, in this process, as the system
// (the operator on the machine): every request is validated, authorized
// and recorded as the API's are. Writes queue their planning job in their
// transaction, and the running panel applies them; the command does not
// wait for their units.
func (c *modelCmd) Run(cli *CLI) error {
	ctx := viewer.System(context.Background(), viewer.ChannelCLI)
	err := c.reg.Run(ctx, c.model, c.Args, mcli.Env{
		Program: "orchestra", Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		Globals: globalFlags,
		Connect: func(globals map[string]string) (mcli.Caller, func(), error) {
			if v, ok := globals["database"]; ok {
				cli.Database = v
			}
			if v, ok := globals["ssh-key"]; ok {
				cli.SSHKey = v
			}
			if v, ok := globals["secret-key"]; ok {
				cli.SecretKey = v
			}
			if v, ok := globals["log-level"]; ok {
				var level slog.Level
				if err := level.UnmarshalText([]byte(v)); err != nil {
					return nil, nil, err
				}
				cli.LogLevel = v
				slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
			}
			// a write may seal a secret (a new mail domain's DKIM key)
			if err := loadSecretKey(cli); err != nil {
				return nil, nil, err
			}
			st, err := open(ctx, cli)
			if err != nil {
				return nil, nil, err
			}
			q, err := jobs.New(st, nil) // writes queue the planning job in their transaction
			if err != nil {
				st.Close()
				return nil, nil, err
			}
			srv := api.New(st, api.Config{Version: version})
			return tracked{srv}, func() { q.Stop(context.Background()); st.Close() }, nil
		},
	})
	if err != nil {
		return modelError{err}
	}
	return nil
}

// modelError is a model command's error, printed as it is (main).
type modelError struct{ err error }

func (e modelError) Error() string { return e.err.Error() }
func (e modelError) Unwrap() error { return e.err }

// tracked calls the API and names the changes a write committed: without
// an executor in this process the API does not follow them, so it does not.
type tracked struct{ srv *api.Server }

func (t tracked) Call(ctx context.Context, method, path string, body []byte, header http.Header) (*api.Response, error) {
	ctx, tr := orchestration.Track(ctx)
	res, err := t.srv.Call(ctx, method, path, body, header)
	if err != nil || res.Header.Get("Orchestra-Changes") != "" {
		return res, err
	}
	if ids := tr.Changes(); len(ids) > 0 {
		s := make([]string, len(ids))
		for i, id := range ids {
			s[i] = strconv.Itoa(id)
		}
		// as the API's asynchronous answer names them
		list := strings.Join(s, ",")
		res.Header.Set("Orchestra-Changes", list)
		res.Header.Add("Link", "<"+api.Prefix+"/operations?changes="+list+">; rel=\"monitor\"")
	}
	return res, nil
}
