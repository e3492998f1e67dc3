package resources

import (
	"strconv"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
)

// The disk a system user's home takes, in bytes as du -b counts them (the
// files' sizes, not their blocks), one file system, links not followed.
func init() {
	RegisterMonitor(Monitor{Backend: &orchestration.Backend{Name: "unix-user-disk", Verbose: "System user disk (du)", Model: "SystemUser",
		DefaultMatch: "true", Apply: func(s *orchestration.Script, _ orchestration.Server, _ string, o orchestration.Object) error {
			s.Var("id", strconv.Itoa(o.ID))
			s.Var("user", o.String("username"))
			s.Raw(`if h=$(getent passwd "$user" | cut -d: -f6) && [[ -d $h ]]; then
  printf '%s %s\n' "$id" "$(du -sbx -- "$h" | cut -f1)"
fi`)
			return nil
		}}})
}
