package orchestration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/lane"
)

// Lane leases. A process runs a server's units only while it holds that
// server's lane: a row of lanes with its owner id and an expiry in the
// database's clock (processes never compare their own clocks, which may
// be skewed or stalled). The row's generation grows whenever the lane
// changes hands, and every write a holder makes about the lane's units
// (start, result, re-queue) first proves, in its own transaction, that
// its generation is still current: a holder that stalled past its lease
// and woke up finds its results refused (fencing). The server itself
// runs one unit at a time whatever the panel believes (laneLock, in every
// script).

// errFenced is returned for a write by a holder whose lease is gone.
var errFenced = errors.New("the lane changed hands: this process no longer holds it")

// nowMS is the database's clock in milliseconds since the epoch.
func nowMS(dialect string) string { return store.NowMS(dialect) }

// bind numbers ? placeholders for PostgreSQL.
func bind(dialect, query string) string {
	if dialect != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// acquire takes the lane of a server that nobody holds (or whose lease
// expired) and returns the new generation; ok is false when another
// process holds it.
func (e *Executor) acquire(ctx context.Context, serverID int) (gen int64, ok bool, err error) {
	d := e.st.Dialect
	ttl := e.cfg.LeaseTTL.Milliseconds()
	for range 2 {
		rows, err := e.st.QueryContext(ctx, bind(d, `UPDATE lanes SET owner = ?, expires = `+nowMS(d)+` + ?,
			generation = generation + 1
			WHERE id = ? AND (owner = '' OR owner = ? OR expires IS NULL OR expires < `+nowMS(d)+`)
			RETURNING generation`), e.owner, ttl, serverID, e.owner)
		if err != nil {
			return 0, false, err
		}
		found, err := scanOne(rows, &gen)
		if err != nil || found {
			return gen, found, err
		}
		exists, err := e.st.Lane.Query().Where(lane.ID(serverID)).Exist(ctx)
		if err != nil || exists {
			return 0, false, err
		}
		// a concurrent insert wins and the update above decides again
		err = e.st.Lane.Create().SetID(serverID).OnConflictColumns(lane.FieldID).DoNothing().Exec(ctx)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, false, err
		}
	}
	return 0, false, nil
}

// renew extends a lease this process holds at generation gen; false when
// it is gone (taken over, or released).
func (e *Executor) renew(ctx context.Context, serverID int, gen int64) (bool, error) {
	d := e.st.Dialect
	res, err := e.st.ExecContext(ctx, bind(d, `UPDATE lanes SET expires = `+nowMS(d)+` + ?
		WHERE id = ? AND owner = ? AND generation = ?`), e.cfg.LeaseTTL.Milliseconds(), serverID, e.owner, gen)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// release gives the lane up, unless it changed hands already.
func (e *Executor) release(ctx context.Context, serverID int, gen int64) {
	_, err := e.st.ExecContext(ctx, bind(e.st.Dialect, `UPDATE lanes SET owner = '', expires = NULL
		WHERE id = ? AND owner = ? AND generation = ?`), serverID, e.owner, gen)
	if err != nil {
		slog.Error("orchestration: releasing a lane", "server", serverID, "err", err)
	}
}

// fence proves, inside tx, that this process still holds the lane at
// generation gen, and keeps it so until tx ends: the row is locked on
// PostgreSQL (a taker's update waits for tx), and SQLite runs one write
// transaction at a time.
func (e *Executor) fence(ctx context.Context, tx *ent.Tx, serverID int, gen int64) error {
	res, err := tx.ExecContext(ctx, bind(e.st.Dialect, `UPDATE lanes SET generation = generation
		WHERE id = ? AND owner = ? AND generation = ?`), serverID, e.owner, gen)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errors.Join(err, fmt.Errorf("server %d: %w", serverID, errFenced))
	}
	return nil
}

func scanOne(rows *sql.Rows, dst any) (bool, error) {
	defer rows.Close()
	if !rows.Next() {
		return false, rows.Err()
	}
	if err := rows.Scan(dst); err != nil {
		return false, err
	}
	return true, rows.Close()
}

// The server's own lock: every script first takes it (laneLock), so a
// server runs one unit at a time even when a panel process stalled past its
// lease, or failed to kill a unit it gave up on, while its script still
// runs there. The holder is the script's own process, named by PID and
// start time: it holds the lock until it ends, however it ends (no release
// step that a kill could skip), and a PID reused by another process does
// not count. flock only guards the check-and-take, and its descriptor is
// closed at once, so no process the script starts inherits the lock.
const (
	laneBusyExit = 75 // EX_TEMPFAIL
	laneBusyMark = "orchestra-lane-busy:"
)

// LaneLockWait is how long a script waits for an older unit still running
// on its server before its unit is deferred like an unreachable server's.
var LaneLockWait = settings.Duration("ORCHESTRATION_LANE_LOCK_WAIT", 30*time.Second,
	"How long a unit waits on its server for an older unit still running there (one whose panel process stalled or lost its lease) before it is tried again later.")

var errLaneBusy = errors.New("the server still runs an older unit")

// laneName names a server's lock after its row (id and creation time):
// every process of one panel takes the same lock, and two panels that
// happen to manage one machine (a test bed, a staging copy) do not wait
// for each other.
func laneName(srv *ent.Server) string {
	if srv == nil {
		return ""
	}
	return fmt.Sprintf("orchestra-lane-%d-%d", srv.ID, srv.CreatedAt.UnixMilli())
}

func laneLock(wait time.Duration, name string) string {
	if name == "" {
		name = "orchestra-lane"
	}
	return `orchestra_alive() {
  local l start=$2
  { read -r l </proc/$1/stat; } 2>/dev/null || return 1
  l=${l##*) }; set -f; set -- $l; set +f
  [[ ${20} == "$start" ]]
}
orchestra_lane_lock() {
  local lock=/run/` + name + ` me l holder tries=0 fd
  [[ -w /run ]] || lock=$HOME/.` + name + `
  read -r l </proc/$BASHPID/stat; l=${l##*) }; set -f; set -- $l; set +f
  me="$BASHPID ${20}"
  while :; do
    exec {fd}>>"$lock.mutex"
    flock "$fd"
    holder=
    { read -r holder <"$lock"; } 2>/dev/null || true
    if [[ -z $holder ]] || ! orchestra_alive $holder; then
      printf '%s\n' "$me" >|"$lock"
      exec {fd}>&-
      return 0
    fi
    exec {fd}>&-
    if (( ++tries > ` + strconv.Itoa(int(max(wait, time.Second)/(100*time.Millisecond))) + ` )); then
      echo "` + laneBusyMark + ` process ${holder%% *} still runs an older unit on this server" >&2
      exit ` + strconv.Itoa(laneBusyExit) + `
    fi
    sleep 0.1
  done
}
orchestra_lane_lock`
}

// laneBusy reports whether a run's script found an older unit holding its
// server (and so ran none of its own commands).
func laneBusy(out *logOutput) bool {
	_, stderr := out.text()
	return strings.Contains(stderr, laneBusyMark)
}
