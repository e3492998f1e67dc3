package store

import (
	"context"
	"time"

	"entgo.io/ent/dialect"
)

// Leases held by several panel processes (lanes, idempotency keys) expire
// by the database's clock, the one clock they all share: a process whose
// own clock is wrong neither takes a live lease nor keeps a dead one.

// NowMS is an SQL expression for the database's clock in milliseconds since
// the epoch, for the dialect.
func NowMS(d string) string {
	if d == dialect.Postgres {
		return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
	}
	return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
}

// Now reads the database's clock.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	var ms int64
	if err := s.DB.QueryRowContext(ctx, "SELECT "+NowMS(s.Dialect)).Scan(&ms); err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms), nil
}
