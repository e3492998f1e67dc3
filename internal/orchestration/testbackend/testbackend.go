// Package testbackend registers a backend for end-to-end tests of the built
// binary: cmd/orchestra imports it only when built with -tags testbackend.
//
// e2e-sleepy records each account's unit in TEST_ROOT/log ("start <name>
// <pid>", then "end <name> <pid>" a second later, pid the script's process) and writes TEST_ROOT/<name>, so a test can
// kill the process in the middle of a batch and see what ran; it prints
// "applied <name>" for each.
package testbackend

import "github.com/orchestra-panel/orchestra/internal/orchestration"

func init() {
	orchestration.Register(&orchestration.Backend{
		Name: "e2e-sleepy", Model: "Account",
		Prepare: func(s *orchestration.Script, srv orchestration.Server) {
			s.Var("root", srv.Setting("TEST_ROOT", "/nonexistent"))
			s.Raw(`mkdir -p "$root"`)
		},
		Apply: func(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
			s.Var("name", o.String("username"))
			s.Raw(`echo "start $name $BASHPID" >>"$root/log"; sleep 1`)
			s.WriteFile(srv.Setting("TEST_ROOT", "/nonexistent")+"/"+o.String("username"), []byte(o.String("full_name")), "0644")
			s.Raw(`echo "end $name $BASHPID" >>"$root/log"; echo "applied $name"`)
			return nil
		},
	})
}

func init() {
	// e2e-files writes TEST_ROOT/files/<username> per account, with no wait:
	// batches of thousands of operations in one unit. On a delete it removes
	// the file. With TEST_GATE set, a unit first waits until that file
	// exists, so a test can act while it is surely running.
	orchestration.Register(&orchestration.Backend{
		Name: "e2e-files", Model: "Account",
		Prepare: func(s *orchestration.Script, srv orchestration.Server) {
			s.Var("root", srv.Setting("TEST_ROOT", "/nonexistent"))
			s.Raw(`mkdir -p "$root/files"`)
			if gate := srv.Setting("TEST_GATE", ""); gate != "" {
				s.Var("gate", gate)
				s.Raw(`echo waiting; while [[ ! -e $gate ]]; do sleep 0.1; done`)
			}
		},
		Apply: func(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
			path := srv.Setting("TEST_ROOT", "/nonexistent") + "/files/" + o.String("username")
			if action == orchestration.ActionDelete {
				s.Cmd("rm", "-f", "--", path)
				return nil
			}
			s.WriteFile(path, []byte(o.String("full_name")), "0644")
			return nil
		},
	})
}
