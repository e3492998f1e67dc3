package dns

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/orchestra-panel/orchestra/internal/audit"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/record"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// The rules of domains and records, for every write path:
//   - a domain's top is the registered parent closest to the root; a new
//     top domain takes over the domains below it; a subdomain belongs to its
//     top's account, and nobody registers a name under another account's;
//   - every change of a zone bumps its serial, and the zone as it will be
//     must load or the write is refused, naming the record at fault: a
//     record is judged on its own and by the few rows its rules involve
//     (checks.go), a new zone whole (parsed, then named-checkzone).

func init() {
	store.RegisterHook("Domain", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.DomainFunc(func(ctx context.Context, m *ent.DomainMutation) (ent.Value, error) {
			if internal(ctx) {
				return next.Mutate(ctx, m)
			}
			return saveDomain(ctx, m, next)
		})
	})
	store.RegisterHook("Domain", ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.DomainFunc(func(ctx context.Context, m *ent.DomainMutation) (ent.Value, error) {
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, err
			}
			tops, err := m.Client().Domain.Query().Where(domain.IDIn(ids...), domain.TopIDNotNil()).
				Select(domain.FieldTopID).Ints(sys(ctx))
			if err != nil {
				return nil, err
			}
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return nil, err
			}
			return v, topsChanged(ctx, m.Client(), tops, 0, false)
		})
	})
	store.RegisterHook("Record", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.RecordFunc(func(ctx context.Context, m *ent.RecordMutation) (ent.Value, error) {
			if internal(ctx) {
				return next.Mutate(ctx, m)
			}
			return saveRecord(ctx, m, next)
		})
	})
	store.RegisterHook("Record", ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.RecordFunc(func(ctx context.Context, m *ent.RecordMutation) (ent.Value, error) {
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, err
			}
			domains, err := m.Client().Record.Query().Where(record.IDIn(ids...)).Select(record.FieldDomainID).Ints(sys(ctx))
			if err != nil {
				return nil, err
			}
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return nil, err
			}
			return v, zonesChanged(ctx, m.Client(), domains, 0, false)
		})
	})
}

type internalKey struct{}

// internal marks the rules' own writes (serials, re-parenting).
func internal(ctx context.Context) bool { return ctx.Value(internalKey{}) != nil }

// internalCtx marks ctx for one of the rules' own writes.
func internalCtx(ctx context.Context) context.Context {
	return context.WithValue(store.KeepVersion(audit.Without(sys(ctx))), internalKey{}, true)
}

func sys(ctx context.Context) context.Context { return viewer.System(ctx, viewer.ChannelSystem) }

func fieldErr(field, msg string) error {
	var errs validate.Errors
	errs.Add(field, msg)
	return errs.Err()
}

func saveDomain(ctx context.Context, m *ent.DomainMutation, next ent.Mutator) (ent.Value, error) {
	if m.Op().Is(ent.OpUpdate) {
		if _, ok := m.Name(); ok {
			return nil, fieldErr("name", i18n.T(ctx, "Rename domains one at a time."))
		}
	}
	if _, ok := m.Serial(); ok && !m.Op().Is(ent.OpCreate) {
		return nil, fieldErr("serial", i18n.T(ctx, "The serial is kept by the panel."))
	}
	if _, ok := m.TopID(); (ok || m.TopIDCleared()) && !m.Op().Is(ent.OpCreate) {
		return nil, fieldErr("top", i18n.T(ctx, "The top domain is kept by the panel."))
	}
	if name, ok := m.Name(); ok {
		m.SetName(strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), ".")))
	}
	validate.TrimFields(m, "refresh", "retry", "expire", "min_ttl")
	var errs validate.Errors
	errs.Check(ctx, m, "name", func(s string) string {
		if msg := domainName(ctx, s); msg != "" {
			return i18n.T(ctx, msg)
		}
		return ""
	})
	for _, f := range []string{"refresh", "retry", "expire", "min_ttl"} {
		errs.Check(ctx, m, f, func(s string) string {
			if _, err := ParseInterval(s); s != "" && err != nil {
				return i18n.T(ctx, "Enter seconds or a number followed by s, m, h, d or w, e.g. 3600 or 1h.")
			}
			return ""
		})
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	client := m.Client()
	var below []*ent.Domain
	if m.Op().Is(ent.OpUpdateOne) {
		if name, ok := m.Name(); ok {
			if old, err := m.OldName(ctx); err == nil && old != name {
				return nil, fieldErr("name", i18n.T(ctx, "A domain cannot be renamed: add the new name and delete the old one."))
			}
		}
		if acc, ok := m.AccountID(); ok {
			if old, err := m.OldAccountID(ctx); err == nil && old != acc {
				return nil, fieldErr("account", i18n.T(ctx, "A domain cannot move to another account."))
			}
		}
	}
	if m.Op().Is(ent.OpCreate) {
		name, _ := m.Name()
		v, _ := viewer.From(ctx)
		if !v.Unrestricted() {
			for _, f := range Forbidden.Get() {
				if under(name, strings.ToLower(strings.TrimSuffix(f, "."))) {
					return nil, fieldErr("name", i18n.T(ctx, "%s cannot be registered here.", name))
				}
			}
		}
		top, err := client.Domain.Query().Where(domain.NameIn(parents(name)...)).All(sys(ctx))
		if err != nil {
			return nil, err
		}
		acc, accSet := m.AccountID()
		if len(top) > 0 {
			t := slices.MinFunc(top, func(a, b *ent.Domain) int { return len(a.Name) - len(b.Name) })
			if !accSet {
				m.SetAccountID(t.AccountID)
			} else if acc != t.AccountID {
				return nil, fieldErr("name", i18n.T(ctx, "%s belongs to another account: its subdomains do too.", t.Name))
			}
			m.SetTopID(t.ID)
			m.SetSerial(0)
		} else {
			m.ClearTopID()
			switch {
			case strings.HasPrefix(name, "*."):
				return nil, fieldErr("name", i18n.T(ctx, "A wildcard is a subdomain: add its parent domain first."))
			case strings.Contains(name, "_"):
				return nil, fieldErr("name", i18n.T(ctx, "Only subdomains may have underscores (_dmarc, _sip._tcp): add the parent domain first."))
			case !strings.Contains(name, "."):
				return nil, fieldErr("name", i18n.T(ctx, "Enter a full domain name such as example.com."))
			}
			m.SetSerial(NextSerial(0, time.Now()))
		}
		taken, err := client.Domain.Query().Where(domain.Name(name)).Exist(sys(ctx))
		if err != nil {
			return nil, err
		}
		if taken {
			return nil, &validate.Conflict{Field: "name", Message: i18n.T(ctx, "%s is already registered.", name)}
		}
		if acc, accSet = m.AccountID(); !accSet {
			return next.Mutate(ctx, m) // refused for its missing account
		}
		if below, err = client.Domain.Query().Where(domain.NameHasSuffix("." + name)).All(sys(ctx)); err != nil {
			return nil, err
		}
		for _, d := range below {
			if d.AccountID != acc {
				return nil, fieldErr("name", i18n.T(ctx, "%s, below this name, belongs to another account.", d.Name))
			}
		}
	}
	v, err := next.Mutate(ctx, m)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*ent.Domain)
	if !ok { // a bulk update of timers or DNSSEC: its zones change
		ids, err := m.IDs(ctx)
		if err != nil {
			return nil, err
		}
		return v, zonesChanged(ctx, client, ids, 0, false)
	}
	if len(below) > 0 && d.TopID == nil {
		// a new top domain takes its subdomains' zones over: each moved
		// domain is a change, so the servers drop its old zone
		ids := make([]int, len(below))
		for i, b := range below {
			ids[i] = b.ID
		}
		err := client.Domain.Update().Where(domain.IDIn(ids...)).SetTopID(d.ID).
			Exec(context.WithValue(sys(ctx), internalKey{}, true))
		if err != nil {
			return nil, err
		}
	}
	// a new zone is judged whole once: it is written whole anyway
	return v, topsChanged(ctx, client, []int{zoneOf(d)}, 0, m.Op().Is(ent.OpCreate) && d.TopID == nil)
}

func saveRecord(ctx context.Context, m *ent.RecordMutation, next ent.Mutator) (ent.Value, error) {
	if m.Op().Is(ent.OpUpdate) {
		return nil, fieldErr("value", i18n.T(ctx, "Change records one at a time."))
	}
	if m.Op().Is(ent.OpUpdateOne) {
		// a record the viewer cannot see is missing, not a value to judge
		// against an empty type
		if _, err := m.OldType(ctx); err != nil {
			return nil, err
		}
	}
	client := m.Client()
	if t, ok := m.GetType(); ok {
		m.SetType(strings.ToUpper(strings.TrimSpace(t)))
	}
	validate.TrimFields(m, "ttl")
	var errs validate.Errors
	errs.Check(ctx, m, "type", func(s string) string {
		if !slices.Contains(Types, s) {
			return i18n.T(ctx, "Select a valid choice: %q is not one of %s.", s, strings.Join(Types, ", "))
		}
		return ""
	})
	typ, _ := validate.String(ctx, m, "type")
	errs.Check(ctx, m, "value", func(s string) string {
		if errs.Has("type") {
			return ""
		}
		if typ != "TXT" {
			s = strings.TrimSpace(s)
		}
		norm, msg := NormalizeValue(ctx, typ, s)
		if msg != "" {
			return i18n.T(ctx, msg)
		}
		m.SetValue(norm)
		return ""
	})
	errs.Check(ctx, m, "ttl", func(s string) string {
		if _, err := ParseInterval(s); s != "" && err != nil {
			return i18n.T(ctx, "Enter seconds or a number followed by s, m, h, d or w, e.g. 3600 or 1h.")
		}
		return ""
	})
	if err := errs.Err(); err != nil {
		return nil, err
	}
	domID, ok := m.DomainID()
	if m.Op().Is(ent.OpUpdateOne) {
		old, err := m.OldDomainID(ctx)
		if err != nil {
			return nil, err
		}
		if ok && domID != old {
			return nil, fieldErr("domain", i18n.T(ctx, "A record cannot move to another domain."))
		}
		domID = old
	}
	// the viewer must see the domain: a customer only their own
	d, err := client.Domain.Query().Where(domain.ID(domID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, fieldErr("domain", i18n.T(ctx, "No domain with id %d.", domID))
	}
	if err != nil {
		return nil, err
	}
	if acc, ok := m.AccountID(); ok && acc != d.AccountID {
		return nil, fieldErr("domain", i18n.T(ctx, "No domain with id %d.", domID))
	}
	m.SetAccountID(d.AccountID)
	if typ == "SOA" && d.TopID != nil {
		return nil, fieldErr("type", i18n.T(ctx, "Only a top domain has an SOA record; %s is in the zone of its top domain.", d.Name))
	}
	value, _ := validate.String(ctx, m, "value")
	if msg := recordProblem(ctx, d.Name, typ, value); msg != "" {
		zone := d.Name
		if d.TopID != nil {
			t, err := client.Domain.Get(sys(ctx), *d.TopID)
			if err != nil {
				return nil, err
			}
			zone = t.Name
		}
		return nil, fieldErr("value", i18n.T(ctx, "The zone %s would not load: %s", zone, msg))
	}
	v, err := next.Mutate(ctx, m)
	if err != nil {
		return nil, err
	}
	saved, _ := v.(*ent.Record)
	recs, err := client.Record.Query().Where(record.DomainID(d.ID)).All(sys(ctx))
	if err != nil {
		return nil, err
	}
	count := map[string]int{}
	for _, r := range recs {
		count[r.Type]++
	}
	switch {
	case count["CNAME"] > 0 && d.TopID == nil:
		return nil, fieldErr("type", i18n.T(ctx, "A top domain cannot have a CNAME record: its name has SOA and NS records."))
	case count["CNAME"] > 0 && len(recs) > 1:
		return nil, fieldErr("type", i18n.T(ctx, "A name with a CNAME record has no other records (RFC 1034): %s has %d.", d.Name, len(recs)))
	case count["SOA"] > 1:
		return nil, fieldErr("type", i18n.T(ctx, "A domain has one SOA record."))
	case count[typ] > maxPerType:
		return nil, fieldErr("type", i18n.T(ctx, "A name has at most %d records of one type: %s would have %d %s records.", maxPerType, d.Name, count[typ], typ))
	}
	id := 0
	if saved != nil {
		id = saved.ID
	}
	return v, topsChanged(ctx, client, []int{zoneOf(d)}, id, false)
}

// zonesChanged notes that the zones of domains (the domains' tops, or
// themselves when top) change in this transaction; record is the record
// being saved, fresh says domains is a top domain created now. When the
// transaction commits, each zone gets one serial bump and one check (see
// checkZones), so that a domain and its records written together are
// judged as a whole.
func zonesChanged(ctx context.Context, client *ent.Client, domains []int, record int, fresh bool) error {
	ds, err := client.Domain.Query().Where(domain.IDIn(domains...)).All(sys(ctx))
	if err != nil {
		return err
	}
	var tops []int
	for _, d := range ds {
		tops = append(tops, zoneOf(d))
	}
	return topsChanged(ctx, client, tops, record, fresh)
}

// zoneOf is the id of d's zone: its top domain's, or its own when top.
func zoneOf(d *ent.Domain) int {
	if d.TopID != nil {
		return *d.TopID
	}
	return d.ID
}

// topsChanged is zonesChanged for the zones' top domains themselves.
func topsChanged(ctx context.Context, client *ent.Client, tops []int, record int, fresh bool) error {
	tx := ent.TxFromContext(ctx)
	st := &zoneTx{}
	if tx == nil {
		st.add(tops, record, fresh)
		return checkZones(ctx, client, st)
	}
	if v, loaded := zoneTxs.LoadOrStore(tx, st); loaded {
		v.(*zoneTx).add(tops, record, fresh)
		return nil
	}
	st.add(tops, record, fresh)
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(c context.Context, tx *ent.Tx) error {
			zoneTxs.Delete(tx)
			if err := checkZones(ctx, tx.Client(), st); err != nil {
				return err
			}
			return next.Commit(c, tx)
		})
	})
	tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
		return ent.RollbackFunc(func(c context.Context, tx *ent.Tx) error {
			zoneTxs.Delete(tx)
			return next.Rollback(c, tx)
		})
	})
	return nil
}

// zoneTxs maps a transaction to the zones it changes.
var zoneTxs sync.Map

type zoneTx struct {
	mu      sync.Mutex
	tops    []int
	fresh   []int // tops created in the transaction
	records []int // records the user saved
}

func (z *zoneTx) add(tops []int, record int, fresh bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, t := range tops {
		if !slices.Contains(z.tops, t) {
			z.tops = append(z.tops, t)
		}
		if fresh && !slices.Contains(z.fresh, t) {
			z.fresh = append(z.fresh, t)
		}
	}
	if record != 0 {
		z.records = append(z.records, record)
	}
}

// checkZones bumps the serial of each zone z changed that still exists and
// checks what the records saved alone could not tell: a new zone whole,
// another the name servers it has in itself (checkNameServers). An error
// names the record at fault, in the words of the user's own record when it
// is one of z.records.
func checkZones(ctx context.Context, client *ent.Client, z *zoneTx) error {
	quiet := orchestration.WithoutChanges(internalCtx(ctx))
	for _, t := range z.tops {
		// one statement, so that writes to one zone committing together
		// each get their own serial (see NextSerial)
		day := NextSerial(0, time.Now())
		top, err := client.Domain.UpdateOneID(t).Modify(func(u *entsql.UpdateBuilder) {
			u.Set(domain.FieldSerial, entsql.ExprFunc(func(b *entsql.Builder) {
				b.WriteString("CASE WHEN ").Ident(domain.FieldSerial).WriteString(" + 1 > ").Arg(day).
					WriteString(" THEN ").Ident(domain.FieldSerial).WriteString(" + 1 ELSE ").Arg(day).WriteString(" END")
			}))
		}).Save(quiet)
		if ent.IsNotFound(err) {
			continue // deleted in this transaction
		}
		if err != nil {
			return err
		}
		if err := checkNameServers(ctx, client, top, z.records); err != nil {
			return err
		}
		if slices.Contains(z.fresh, t) {
			if err := checkWhole(ctx, client, top, z.records); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkWhole renders the zone of top and loads it as a name server would.
func checkWhole(ctx context.Context, client *ent.Client, top *ent.Domain, records []int) error {
	z, err := LoadZone(ctx, client, top)
	if err != nil {
		return err
	}
	text, lines := z.Render()
	err = Check(ctx, top.Name, text, lines)
	var ze *ZoneError
	if err == nil || !errors.As(err, &ze) {
		return err
	}
	msg := i18n.T(ctx, "The zone %s would not load: %s", top.Name, ze.Message)
	if id := ze.Line.RecordID; id != 0 && !slices.Contains(records, id) {
		msg = i18n.T(ctx, "The zone %s would not load because of record %d of %s: %s", top.Name, id, ze.Line.Name, ze.Message)
	}
	return fieldErr("value", msg)
}

// LoadZone reads the zone of top domain d: d, the domains whose top it is,
// and their records.
func LoadZone(ctx context.Context, client *ent.Client, d *ent.Domain) (Zone, error) {
	z := Zone{Origin: d.Name, Serial: d.Serial, Refresh: d.Refresh, Retry: d.Retry, Expire: d.Expire, MinTTL: d.MinTTL}
	ds, err := client.Domain.Query().Where(domain.Or(domain.ID(d.ID), domain.TopID(d.ID))).
		WithRecords().All(viewer.System(ctx, viewer.ChannelSystem))
	if err != nil {
		return z, err
	}
	for _, x := range ds {
		n := Name{Name: x.Name}
		for _, r := range x.Edges.Records {
			n.Records = append(n.Records, Rec{ID: r.ID, Type: r.Type, Value: r.Value, TTL: r.TTL})
		}
		z.Names = append(z.Names, n)
	}
	return z, nil
}
