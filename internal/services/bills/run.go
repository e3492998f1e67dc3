package bills

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/audit"
	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/services/billing"
	"github.com/orchestra-panel/orchestra/internal/services/billing/lines"
	"github.com/orchestra-panel/orchestra/internal/services/billing/period"
	"github.com/orchestra-panel/orchestra/internal/services/billing/rates"
	"github.com/orchestra-panel/orchestra/internal/services/bills/amounts"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/bill"
	"github.com/orchestra-panel/orchestra/internal/store/ent/billline"
	"github.com/orchestra-panel/orchestra/internal/store/ent/billsubline"
	"github.com/orchestra-panel/orchestra/internal/store/ent/contractedplan"
	"github.com/orchestra-panel/orchestra/internal/store/ent/metricstorage"
	"github.com/orchestra-panel/orchestra/internal/store/ent/order"
	"github.com/orchestra-panel/orchestra/internal/store/ent/plan"
	"github.com/orchestra-panel/orchestra/internal/store/ent/rate"
	"github.com/orchestra-panel/orchestra/internal/store/ent/service"
)

// Settings of bills and billing runs.
var (
	AnnualMonth = settings.Int("SERVICES_SERVICE_ANUAL_BILLING_MONTH", 1,
		"The month (1–12) yearly services with a fixed billing point renew in.", settings.Validator(func(v any) error {
			if m := v.(int); m < 1 || m > 12 {
				return fmt.Errorf("%d is not a month", m)
			}
			return nil
		}))
	NumberLength = settings.Int("BILLS_NUMBER_LENGTH", 4, "The digits of a bill number's yearly sequence (more once it passes them).",
		settings.Validator(func(v any) error {
			if n := v.(int); n < 1 || n > 8 {
				return fmt.Errorf("between 1 and 8")
			}
			return nil
		}))
	prefixSettings = map[string]settings.Handle[string]{}
)

func init() {
	for typ, p := range amounts.Prefixes {
		name := map[string]string{amounts.Invoice: "INVOICE", amounts.AmendmentInvoice: "AMENDMENT_INVOICE", amounts.Fee: "FEE",
			amounts.AmendmentFee: "AMENDMENT_FEE", amounts.ProForma: "PROFORMA"}[typ]
		prefixSettings[typ] = settings.String("BILLS_"+name+"_NUMBER_PREFIX", p, "What the numbers of this type of bill start with.")
	}
}

// Options are a billing run's (reference §5.1).
type Options struct {
	// Point is the day billed up to (zero: today), Fixed to bill exactly
	// up to it rather than to each order's period.
	Point time.Time
	Fixed bool
	// ProForma makes pro forma bills and leaves the orders as they are.
	ProForma bool
	// NewOpen starts new bills rather than adding to the accounts' open ones.
	NewOpen bool
	// Today is the run's day (zero: now).
	Today time.Time
}

// PreviewLine is a line a run makes, or would make.
type PreviewLine struct {
	Order       int             `json:"order"`
	Description string          `json:"description"`
	Start       string          `json:"start_on"`
	End         string          `json:"end_on,omitempty"`
	Quantity    string          `json:"quantity"`
	Rate        decimal.Decimal `json:"rate"`
	Subtotal    decimal.Decimal `json:"subtotal"`
	Tax         int             `json:"tax"`
	Discounts   []PreviewSub    `json:"discounts"`
	Total       decimal.Decimal `json:"total" doc:"The subtotal with its discounts, before taxes."`
}

// PreviewSub is a line's discount.
type PreviewSub struct {
	Type        string          `json:"type"`
	Description string          `json:"description"`
	Total       decimal.Decimal `json:"total"`
}

// AccountRun is what a run charges one account.
type AccountRun struct {
	Name    string          `json:"name" doc:"The account's full name."`
	Account int             `json:"account"`
	Lines   []PreviewLine   `json:"lines"`
	Total   decimal.Decimal `json:"total" doc:"The lines with their discounts and taxes."`
	Bills   []int           `json:"bills,omitempty" doc:"The bills the lines went to (a committed run)."`
}

// The amounts of a run's answer are written to the cent ("10.00", not
// "10"), as a bill prints them; their schema stays the decimal's.

// MarshalJSON writes l's amounts to the cent.
func (l PreviewLine) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct { // PreviewLine's fields, in its order
		Order       int          `json:"order"`
		Description string       `json:"description"`
		Start       string       `json:"start_on"`
		End         string       `json:"end_on,omitempty"`
		Quantity    string       `json:"quantity"`
		Rate        string       `json:"rate"`
		Subtotal    string       `json:"subtotal"`
		Tax         int          `json:"tax"`
		Discounts   []PreviewSub `json:"discounts"`
		Total       string       `json:"total"`
	}{l.Order, l.Description, l.Start, l.End, l.Quantity, l.Rate.StringFixed(2), l.Subtotal.StringFixed(2), l.Tax, l.Discounts, l.Total.StringFixed(2)})
}

// MarshalJSON writes s's amount to the cent.
func (s PreviewSub) MarshalJSON() ([]byte, error) {
	type plain PreviewSub
	return json.Marshal(struct {
		plain
		Total string `json:"total"`
	}{plain(s), s.Total.StringFixed(2)})
}

// MarshalJSON writes a's total to the cent.
func (a AccountRun) MarshalJSON() ([]byte, error) {
	type plain AccountRun
	return json.Marshal(struct {
		plain
		Total string `json:"total"`
	}{plain(a), a.Total.StringFixed(2)})
}

// verboseQuantity prints a line's quantity: the size, or metric×size.
func verboseQuantity(metric, size decimal.Decimal) string {
	switch {
	case metric.Equal(decimal.NewFromInt(1)):
		return size.String()
	case size.Equal(decimal.NewFromInt(1)):
		return metric.String()
	}
	return metric.String() + "×" + size.String()
}

// Run bills the orders ids as the reference's bill action does: grouped by
// account and service, each group through the billing arithmetic, and,
// with commit, the lines written to the accounts' bills and the orders'
// billed dates moved (not for pro formas). Ignored orders are left out.
// Without commit nothing is written: the answer is the preview. It reads
// and writes in batches, never a query per order.
func Run(ctx context.Context, tx *ent.Tx, ids []int, o Options, commit bool) ([]AccountRun, error) {
	if o.Today.IsZero() {
		o.Today = time.Now()
	}
	o.Today = period.Date(o.Today)
	if o.Point.IsZero() {
		o.Point = o.Today
	}
	// lines are written in bulk, past the models' own checks: staff only
	if err := authz.RequireStaff(ctx); err != nil {
		return nil, err
	}
	// one run at a time: open bills and numbers are taken in order
	if err := store.Serialize(ctx, tx.Client(), "bills.run", 0); err != nil {
		return nil, err
	}
	in, err := load(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	var out []AccountRun
	acctIdx := map[int]int{}
	w := newWriter(tx, o)
	var updates []lines.Update
	for _, k := range in.keys {
		s := in.services[k.service]
		mine := in.groups[k]
		var others []*ent.Order
		for _, ord := range in.pairOrders[k] {
			if !in.chosen[ord.ID] {
				others = append(others, ord)
			}
		}
		got, ups, err := lines.Bill(serviceOf(s), in.plansOf(k.account, s.ID), in.toLines(mine), in.toLines(others),
			lines.Options{Point: o.Point, Fixed: o.Fixed, Today: o.Today})
		if err != nil {
			return nil, fmt.Errorf("bills: %s, account %d: %w", s.Description, k.account, err)
		}
		updates = append(updates, ups...)
		for _, l := range got {
			i, seen := acctIdx[k.account]
			if !seen {
				i = len(out)
				acctIdx[k.account] = i
				out = append(out, AccountRun{Account: k.account})
			}
			ord := in.orders[l.Order]
			pl := preview(ctx, s, ord, l)
			out[i].Lines = append(out[i].Lines, pl)
			if commit {
				w.add(s, ord, l, pl, i)
			}
		}
	}
	for i := range out {
		var al []amounts.Line
		for _, l := range out[i].Lines {
			al = append(al, amountLine(l))
		}
		out[i].Total = amounts.Total(al)
	}
	if err := names(ctx, tx, out); err != nil {
		return nil, err
	}
	if !commit {
		return out, nil
	}
	if err := w.write(ctx, out); err != nil {
		return nil, err
	}
	if !o.ProForma {
		if err := updateOrders(ctx, tx, updates); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// group is an account's orders of a service.
type group struct{ account, service int }

// loaded is what a run reads, in batches.
type loaded struct {
	keys       []group // in the order billed
	groups     map[group][]*ent.Order
	chosen     map[int]bool
	pairOrders map[group][]*ent.Order // every order of each group's account and service (ignored ones left out)
	orders     map[int]*ent.Order
	services   map[int]*ent.Service
	samples    map[int][]lines.Metric
	rates      map[int][]*ent.Rate // by service
	plans      []*ent.Plan
	contracts  map[int]map[int]int // account → plan → contracts
}

// chunk is how many ids one IN takes: within every database's limit.
const chunk = 5000

func load(ctx context.Context, tx *ent.Tx, ids []int) (*loaded, error) {
	in := &loaded{groups: map[group][]*ent.Order{}, chosen: map[int]bool{}, pairOrders: map[group][]*ent.Order{},
		orders: map[int]*ent.Order{}, services: map[int]*ent.Service{}, samples: map[int][]lines.Metric{},
		rates: map[int][]*ent.Rate{}, contracts: map[int]map[int]int{}}
	var batch []*ent.Order
	for part := range slices.Chunk(sortedIDs(ids), chunk) {
		os, err := tx.Order.Query().Where(order.IDIn(part...), order.Ignore(false)).All(ctx)
		if err != nil {
			return nil, err
		}
		batch = append(batch, os...)
	}
	slices.SortFunc(batch, func(a, b *ent.Order) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.ServiceID, b.ServiceID), cmp.Compare(a.ID, b.ID))
	})
	accounts := map[int]bool{}
	serviceIDs := map[int]bool{}
	for _, ord := range batch {
		k := group{ord.AccountID, ord.ServiceID}
		if in.groups[k] == nil {
			in.keys = append(in.keys, k)
		}
		in.groups[k] = append(in.groups[k], ord)
		in.chosen[ord.ID] = true
		accounts[ord.AccountID], serviceIDs[ord.ServiceID] = true, true
	}
	if len(batch) == 0 {
		return in, nil
	}
	svcs := slices.Sorted(maps.Keys(serviceIDs))
	ss, err := tx.Service.Query().Where(service.IDIn(svcs...)).All(ctx)
	if err != nil {
		return nil, err
	}
	metric := map[int]bool{}
	for _, s := range ss {
		in.services[s.ID] = s
		metric[s.ID] = s.Metric != ""
	}
	rs, err := tx.Rate.Query().Where(rate.ServiceIDIn(svcs...)).Order(ent.Asc(rate.FieldQuantity), ent.Asc(rate.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		in.rates[r.ServiceID] = append(in.rates[r.ServiceID], r)
	}
	if in.plans, err = tx.Plan.Query().Where(plan.IsActive(true)).Order(ent.Asc(plan.FieldID)).All(ctx); err != nil {
		return nil, err
	}
	var withMetric []int
	for part := range slices.Chunk(slices.Sorted(maps.Keys(accounts)), chunk) {
		os, err := tx.Order.Query().Where(order.AccountIDIn(part...), order.ServiceIDIn(svcs...), order.Ignore(false)).
			Order(ent.Asc(order.FieldID)).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, ord := range os {
			k := group{ord.AccountID, ord.ServiceID}
			if in.groups[k] == nil {
				continue // a pair this run does not bill
			}
			in.pairOrders[k] = append(in.pairOrders[k], ord)
			in.orders[ord.ID] = ord
			if metric[ord.ServiceID] {
				withMetric = append(withMetric, ord.ID)
			}
		}
		cps, err := tx.ContractedPlan.Query().Where(contractedplan.AccountIDIn(part...)).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range cps {
			if in.contracts[c.AccountID] == nil {
				in.contracts[c.AccountID] = map[int]int{}
			}
			in.contracts[c.AccountID][c.PlanID]++
		}
	}
	for part := range slices.Chunk(withMetric, chunk) {
		rows, err := tx.MetricStorage.Query().Where(metricstorage.OrderIDIn(part...)).Order(ent.Asc(metricstorage.FieldID)).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			in.samples[r.OrderID] = append(in.samples[r.OrderID], lines.Metric{Value: r.Value, Created: period.Date(r.CreatedOn), Updated: r.UpdatedOn})
		}
	}
	return in, nil
}

// toLines reads orders as the arithmetic does.
func (in *loaded) toLines(os []*ent.Order) []lines.Order {
	out := make([]lines.Order, len(os))
	for i, o := range os {
		out[i] = lines.Order{ID: o.ID, Registered: period.Date(o.RegisteredOn), BilledMetric: o.BilledMetric, Metrics: in.samples[o.ID]}
		if o.CancelledOn != nil {
			out[i].Cancelled = period.Date(*o.CancelledOn)
		}
		if o.BilledOn != nil {
			out[i].BilledOn = period.Date(*o.BilledOn)
		}
		if o.BilledUntil != nil {
			out[i].BilledUntil = period.Date(*o.BilledUntil)
		}
	}
	return out
}

// plansOf are the account's plans with the service's rates: the default
// plans, and each contracted plan once per contract.
func (in *loaded) plansOf(account, service int) []rates.Plan {
	rs := in.rates[service]
	if len(rs) == 0 {
		return nil
	}
	var out []rates.Plan
	for _, p := range in.plans {
		n := in.contracts[account][p.ID]
		if p.IsDefault && n == 0 {
			n = 1
		}
		if n == 0 {
			continue
		}
		rp := rates.Plan{Name: p.Name, Combinable: p.IsCombinable, Contracts: n}
		for _, r := range rs {
			if r.PlanID == p.ID {
				rp.Rates = append(rp.Rates, rates.Rate{Quantity: r.Quantity, Price: r.Price})
			}
		}
		if len(rp.Rates) > 0 {
			out = append(out, rp)
		}
	}
	return out
}

// updateOrders writes what the run moved, an UPDATE per distinct set of
// values (a run's orders mostly share their new dates).
func updateOrders(ctx context.Context, tx *ent.Tx, updates []lines.Update) error {
	type values struct {
		on, until time.Time
		metric    string
	}
	same := map[values][]int{}
	var keys []values
	metrics := map[string]*decimal.Decimal{}
	for _, u := range updates {
		v := values{u.BilledOn, u.BilledUntil, ""}
		if u.BilledMetric != nil {
			v.metric = u.BilledMetric.String()
			metrics[v.metric] = u.BilledMetric
		}
		if same[v] == nil {
			keys = append(keys, v)
		}
		same[v] = append(same[v], u.Order)
	}
	for _, v := range keys {
		for part := range slices.Chunk(same[v], chunk) {
			up := tx.Order.Update().Where(order.IDIn(part...)).SetBilledOn(v.on).SetBilledUntil(v.until)
			if m := metrics[v.metric]; m != nil {
				up.SetBilledMetric(*m)
			}
			if _, err := up.Save(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func amountLine(l PreviewLine) amounts.Line {
	al := amounts.Line{Subtotal: l.Subtotal, Tax: decimal.NewFromInt(int64(l.Tax))}
	for _, d := range l.Discounts {
		al.Sublines = append(al.Sublines, d.Total)
	}
	return al
}

// discountNames are the sub-lines' descriptions by type.
var discountNames = map[string]string{lines.Plan: i18n.M("Discount per plan"), lines.Compensation: i18n.M("Discount per compensation"),
	lines.Prepay: i18n.M("Discount per prepay")}

func preview(ctx context.Context, s *ent.Service, o *ent.Order, l lines.Line) PreviewLine {
	pl := PreviewLine{Order: l.Order, Start: l.Ini.Format(time.DateOnly), Quantity: verboseQuantity(l.Metric, l.Size),
		Rate: l.Rate, Subtotal: l.Subtotal, Tax: s.Tax, Total: l.Total(), Discounts: []PreviewSub{}}
	if o != nil {
		pl.Description = o.Description
	}
	if !l.End.IsZero() {
		pl.End = l.End.Format(time.DateOnly)
	}
	for _, d := range l.Discounts {
		pl.Discounts = append(pl.Discounts, PreviewSub{Type: d.Type, Description: i18n.T(ctx, discountNames[d.Type]), Total: d.Total})
	}
	return pl
}

// serviceOf is how the arithmetic reads a service.
func serviceOf(s *ent.Service) lines.Service {
	out := lines.Service{
		Point: period.Point{Period: period.Period(s.BillingPeriod), Anchor: period.Anchor(s.BillingPoint), Prepay: s.PaymentStyle == "PREPAY",
			AnnualMonth: time.Month(AnnualMonth.Get())},
		PricingPeriod: s.PricingPeriod, OnCancel: s.OnCancel, Nominal: s.NominalPrice, Metric: s.Metric != "",
	}
	out.Algorithm = rates.Algorithms[s.RateAlgorithm]
	return out
}

// writer puts a run's lines on bills, in batches once the run is done.
type writer struct {
	tx      *ent.Tx
	o       Options
	pending []pendingLine
	seq     map[string]int // the next sequence by prefix and year
}

// pendingLine is a line to write, with what decides its bill.
type pendingLine struct {
	s    *ent.Service
	ord  *ent.Order
	l    lines.Line
	pl   PreviewLine
	run  int    // the account's index in the run's answer
	typ  string // its bill's type
	bill int    // its bill, once chosen
}

func newWriter(tx *ent.Tx, o Options) *writer {
	return &writer{tx: tx, o: o, seq: map[string]int{}}
}

// add keeps l of order ord for write.
func (w *writer) add(s *ent.Service, ord *ent.Order, l lines.Line, pl PreviewLine, run int) {
	typ := amounts.Invoice
	switch {
	case w.o.ProForma:
		typ = amounts.ProForma
	case s.IsFee:
		typ = amounts.Fee
	}
	w.pending = append(w.pending, pendingLine{s: s, ord: ord, l: l, pl: pl, run: run, typ: typ})
}

// write chooses each line's bill (a new fee for a fee's line, else the
// account's last open invoice or pro forma, new with NewOpen or none),
// makes the new bills, the lines and their sub-lines, and the bills'
// totals; each account's answer learns its bills.
func (w *writer) write(ctx context.Context, out []AccountRun) error {
	type key struct {
		account int
		typ     string
	}
	open := map[key]int{}
	if !w.o.NewOpen {
		var accts []int
		for _, p := range w.pending {
			accts = append(accts, p.ord.AccountID)
		}
		for part := range slices.Chunk(sortedIDs(accts), chunk) {
			bs, err := w.tx.Bill.Query().Where(bill.AccountIDIn(part...), bill.IsOpen(true), bill.TypeIn(amounts.Invoice, amounts.ProForma)).
				Order(ent.Asc(bill.FieldID)).All(ctx)
			if err != nil {
				return err
			}
			for _, b := range bs {
				open[key{b.AccountID, b.Type}] = b.ID // the last wins
			}
		}
	}
	reused := map[int]bool{}
	for id := range maps.Values(open) {
		reused[id] = true
	}
	// the new bills, numbered in the order of their first line, with
	// their totals from their lines here
	var made []*pendingLine // the line each new bill is made for
	for i := range w.pending {
		p := &w.pending[i]
		k := key{p.ord.AccountID, p.typ}
		if id, ok := open[k]; ok && p.typ != amounts.Fee {
			p.bill = id
			continue
		}
		made = append(made, p)
		if p.typ != amounts.Fee {
			open[k] = -len(made) // this run's new bill, made below
		}
		p.bill = -len(made)
	}
	lineTotals := make([][]amounts.Line, len(made))
	for _, p := range w.pending {
		if p.bill < 0 {
			lineTotals[-p.bill-1] = append(lineTotals[-p.bill-1], amountLine(p.pl))
		}
	}
	creates := make([]*ent.BillCreate, len(made))
	for i, p := range made {
		number, err := w.number(ctx, p.typ, true)
		if err != nil {
			return err
		}
		creates[i] = w.tx.Bill.Create().SetAccountID(p.ord.AccountID).SetType(p.typ).SetNumber(number).SetTotal(amounts.Total(lineTotals[i]))
	}
	// the owners were read in this transaction and the numbers taken
	// under the run's lock: no look-up per bill, and the history in bulk
	bctx, flush := audit.Batch(store.Checked(ctx), w.tx)
	ids := make([]int, 0, len(creates))
	for part := range slices.Chunk(creates, 1000) {
		bs, err := w.tx.Bill.CreateBulk(part...).Save(bctx)
		if err != nil {
			return err
		}
		for _, b := range bs {
			ids = append(ids, b.ID)
		}
	}
	if err := flush(); err != nil {
		return err
	}
	written := map[int]bool{}
	for i := range w.pending {
		p := &w.pending[i]
		if p.bill < 0 {
			p.bill = ids[-p.bill-1]
		}
		written[p.bill] = true
		if !slices.Contains(out[p.run].Bills, p.bill) {
			out[p.run].Bills = append(out[p.run].Bills, p.bill)
		}
	}
	// the lines, then their sub-lines, in bulk: nothing follows them row
	// by row, and a run makes a hundred thousand
	lineRows := make([][]any, len(w.pending))
	for i, p := range w.pending {
		lineRows[i] = []any{p.bill, p.ord.AccountID, billing.Clip(p.pl.Description, 256), p.l.Rate, p.l.Quantity().RoundBank(2),
			billing.Clip(p.pl.Quantity, 16), p.l.Subtotal, p.s.Tax, p.l.Ini, nullable(nonZero(p.l.End)), p.ord.ID,
			nullable(p.ord.BilledOn), nullable(p.ord.BilledUntil), nullable(p.ord.BilledMetric), w.o.Today}
	}
	lineIDs, err := store.InsertRows(ctx, w.tx, "BillLine", []string{billline.FieldBillID, billline.FieldAccountID,
		billline.FieldDescription, billline.FieldRate, billline.FieldQuantity, billline.FieldVerboseQuantity, billline.FieldSubtotal,
		billline.FieldTax, billline.FieldStartOn, billline.FieldEndOn, billline.FieldOrderID, billline.FieldOrderBilledOn,
		billline.FieldOrderBilledUntil, billline.FieldOrderBilledMetric, billline.FieldCreatedOn}, lineRows)
	if err != nil {
		return err
	}
	var subRows [][]any
	for i, p := range w.pending {
		for _, d := range p.pl.Discounts {
			subRows = append(subRows, []any{lineIDs[i], p.ord.AccountID, billing.Clip(d.Description, 256), d.Total, d.Type})
		}
	}
	if _, err := store.InsertRows(ctx, w.tx, "BillSubline", []string{billsubline.FieldBillLineID, billsubline.FieldAccountID,
		billsubline.FieldDescription, billsubline.FieldTotal, billsubline.FieldType}, subRows); err != nil {
		return err
	}
	// an open bill added to is totalled again
	for id := range reused {
		if written[id] {
			if err := Recompute(ctx, w.tx, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// nullable is v, or an untyped nil for a nil pointer (a NULL to every
// driver).
func nullable[T any](v *T) any {
	if v == nil {
		return nil
	}
	return *v
}

func nonZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// number is the next number of type (open: with its O).
func (w *writer) number(ctx context.Context, typ string, open bool) (string, error) {
	return nextNumber(ctx, w.tx, w.seq, typ, w.o.Today.Year(), open)
}

// nextNumber is the next number of typ in year, open or closed, remembered
// in seq for the rest of a transaction that takes several.
func nextNumber(ctx context.Context, tx *ent.Tx, seq map[string]int, typ string, year int, open bool) (string, error) {
	prefix := prefixSettings[typ].Get()
	key := prefix + strconv.Itoa(year) // the sequence's own prefix: I2026, OI2026
	if open {
		key = "O" + key
	}
	if seq[key] == 0 {
		numbers, err := tx.Bill.Query().Where(bill.NumberHasPrefix(key)).Select(bill.FieldNumber).Strings(ctx)
		if err != nil {
			return "", err
		}
		seq[key] = amounts.Next(numbers, prefix, year, open)
	}
	n := amounts.Number(prefix, year, seq[key], NumberLength.Get(), open)
	seq[key]++
	return n, nil
}

// sortedIDs returns ids sorted without duplicates.
func sortedIDs(ids []int) []int { return slices.Compact(slices.Sorted(slices.Values(ids))) }

// names gives each account of a run its full name.
func names(ctx context.Context, tx *ent.Tx, out []AccountRun) error {
	ids := make([]int, len(out))
	for i, a := range out {
		ids[i] = a.Account
	}
	full := map[int]string{}
	for part := range slices.Chunk(sortedIDs(ids), chunk) {
		as, err := tx.Account.Query().Where(account.IDIn(part...)).Select(account.FieldID, account.FieldFullName).All(ctx)
		if err != nil {
			return err
		}
		for _, a := range as {
			full[a.ID] = a.FullName
		}
	}
	for i := range out {
		out[i].Name = full[out[i].Account]
	}
	return nil
}
