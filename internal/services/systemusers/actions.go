package systemusers

import (
	"context"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/paths"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// check checks a custom action's arguments for one user, whoever asks for
// it (the API, the CLI, a job): the fields it needs, in their forms, and
// that every path lies in a base the user's account owns, so that nobody
// grants, links or looks at what is not theirs.
func check(ctx context.Context, tx *ent.Tx, action string, o orchestration.Object) error {
	args := o.Args
	bases, err := paths.Owned(ctx, tx.Client(), o.Int("account_id"))
	if err != nil {
		return err
	}
	var errs validate.Errors
	inside := func(field, p string) {
		if msg := paths.AbsProblem(ctx, p); msg != "" {
			errs.Add(field, msg)
		} else if _, ok := paths.Within(bases, p); !ok {
			errs.Add(field, i18n.T(ctx, "%s is outside the homes of the account's system users.", p))
		}
	}
	switch action {
	case ActionSetPermission:
		inside("path", args["path"])
		if a := args["access"]; a != "r" && a != "w" && a != "rw" {
			errs.Add("access", i18n.T(ctx, "Choose r, w or rw."))
		}
		if m := args["mode"]; m != "grant" && m != "revoke" {
			errs.Add("mode", i18n.T(ctx, "Choose grant or revoke."))
		}
	case ActionCreateLink:
		inside("target", args["target"])
		if msg := paths.NameProblem(ctx, args["name"]); msg != "" {
			errs.Add("name", msg)
		}
	case ActionCheckPaths:
		var lines []string
		for _, l := range strings.Split(args["paths"], "\n") {
			if l != "" { // as typed: a space is part of a name
				lines = append(lines, l)
			}
		}
		switch {
		case len(lines) == 0:
			errs.Add("paths", i18n.T(ctx, "This field is required."))
		case len(lines) > 100:
			errs.Add("paths", i18n.T(ctx, "Check at most 100 paths at a time."))
		}
		for _, l := range lines {
			inside("paths", l)
		}
	}
	return errs.Err()
}
