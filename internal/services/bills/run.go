package bills

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/services/billing/lines"
	"github.com/orchestra-panel/orchestra/internal/services/billing/period"
	"github.com/orchestra-panel/orchestra/internal/services/billing/rates"
	"github.com/orchestra-panel/orchestra/internal/services/bills/amounts"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/bill"
	"github.com/orchestra-panel/orchestra/internal/store/ent/contractedplan"
	"github.com/orchestra-panel/orchestra/internal/store/ent/metricstorage"
	"github.com/orchestra-panel/orchestra/internal/store/ent/order"
	"github.com/orchestra-panel/orchestra/internal/store/ent/plan"
	"github.com/orchestra-panel/orchestra/internal/store/ent/rate"
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
	Account int             `json:"account"`
	Lines   []PreviewLine   `json:"lines"`
	Total   decimal.Decimal `json:"total" doc:"The lines with their discounts and taxes."`
	Bills   []int           `json:"bills,omitempty" doc:"The bills the lines went to (a committed run)."`
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
// Without commit nothing is written: the answer is the preview.
func Run(ctx context.Context, tx *ent.Tx, ids []int, o Options, commit bool) ([]AccountRun, error) {
	if o.Today.IsZero() {
		o.Today = time.Now()
	}
	o.Today = period.Date(o.Today)
	if o.Point.IsZero() {
		o.Point = o.Today
	}
	// one run at a time: open bills and numbers are taken in order
	if err := store.Serialize(ctx, tx.Client(), "bills.run", 0); err != nil {
		return nil, err
	}
	batch, err := tx.Order.Query().Where(order.IDIn(ids...), order.Ignore(false)).Order(ent.Asc(order.FieldAccountID), ent.Asc(order.FieldServiceID), ent.Asc(order.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	type group struct{ account, service int }
	var keys []group
	groups := map[group][]*ent.Order{}
	for _, ord := range batch {
		k := group{ord.AccountID, ord.ServiceID}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], ord)
	}
	services := map[int]*ent.Service{}
	var out []AccountRun
	acctIdx := map[int]int{}
	w := newWriter(tx, o)
	for _, k := range keys {
		s := services[k.service]
		if s == nil {
			if s, err = tx.Service.Get(ctx, k.service); err != nil {
				return nil, err
			}
			services[k.service] = s
		}
		mine := groups[k]
		others, err := tx.Order.Query().Where(order.AccountID(k.account), order.ServiceID(k.service),
			order.IDNotIn(idsOf(mine)...), order.Ignore(false)).Order(ent.Asc(order.FieldID)).All(ctx)
		if err != nil {
			return nil, err
		}
		in, err := toLines(ctx, tx, s, mine, others)
		if err != nil {
			return nil, err
		}
		plans, err := plansOf(ctx, tx, k.account, s.ID)
		if err != nil {
			return nil, err
		}
		got, updates, err := lines.Bill(serviceOf(s), plans, in[:len(mine)], in[len(mine):], lines.Options{Point: o.Point, Fixed: o.Fixed, Today: o.Today})
		if err != nil {
			return nil, fmt.Errorf("bills: %s, account %d: %w", s.Description, k.account, err)
		}
		byID := map[int]*ent.Order{}
		for _, ord := range append(slices.Clone(mine), others...) {
			byID[ord.ID] = ord
		}
		for _, l := range got {
			i, seen := acctIdx[k.account]
			if !seen {
				i = len(out)
				acctIdx[k.account] = i
				out = append(out, AccountRun{Account: k.account})
			}
			ar := &out[i]
			pl := preview(ctx, s, byID[l.Order], l)
			ar.Lines = append(ar.Lines, pl)
			if commit {
				billID, err := w.line(ctx, s, byID[l.Order], l, pl)
				if err != nil {
					return nil, err
				}
				if !slices.Contains(ar.Bills, billID) {
					ar.Bills = append(ar.Bills, billID)
				}
			}
		}
		if commit && !o.ProForma {
			for _, u := range updates {
				up := tx.Order.UpdateOneID(u.Order).SetBilledOn(u.BilledOn).SetBilledUntil(u.BilledUntil)
				if u.BilledMetric != nil {
					up.SetBilledMetric(*u.BilledMetric)
				}
				if err := up.Exec(ctx); err != nil {
					return nil, err
				}
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
	if commit {
		if err := w.totals(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func idsOf(os []*ent.Order) []int {
	out := make([]int, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
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

// toLines reads orders (and their metric samples, for a metric service) as
// the arithmetic does.
func toLines(ctx context.Context, tx *ent.Tx, s *ent.Service, orders ...[]*ent.Order) ([]lines.Order, error) {
	var all []*ent.Order
	for _, os := range orders {
		all = append(all, os...)
	}
	samples := map[int][]lines.Metric{}
	if s.Metric != "" {
		for chunk := range slices.Chunk(idsOf(all), 500) {
			rows, err := tx.MetricStorage.Query().Where(metricstorage.OrderIDIn(chunk...)).Order(ent.Asc(metricstorage.FieldID)).All(ctx)
			if err != nil {
				return nil, err
			}
			for _, r := range rows {
				samples[r.OrderID] = append(samples[r.OrderID], lines.Metric{Value: r.Value, Created: period.Date(r.CreatedOn), Updated: r.UpdatedOn})
			}
		}
	}
	out := make([]lines.Order, len(all))
	for i, o := range all {
		out[i] = lines.Order{ID: o.ID, Registered: period.Date(o.RegisteredOn), BilledMetric: o.BilledMetric, Metrics: samples[o.ID]}
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
	return out, nil
}

// plansOf are the account's plans with the service's rates: the default
// plans, and each contracted plan once per contract.
func plansOf(ctx context.Context, tx *ent.Tx, account, service int) ([]rates.Plan, error) {
	rs, err := tx.Rate.Query().Where(rate.ServiceID(service)).Order(ent.Asc(rate.FieldQuantity)).All(ctx)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	contracts := map[int]int{}
	cps, err := tx.ContractedPlan.Query().Where(contractedplan.AccountID(account)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cps {
		contracts[c.PlanID]++
	}
	ps, err := tx.Plan.Query().Where(plan.IsActive(true)).Order(ent.Asc(plan.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	var out []rates.Plan
	for _, p := range ps {
		n := contracts[p.ID]
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
	return out, nil
}

// writer puts a run's lines on bills.
type writer struct {
	tx      *ent.Tx
	o       Options
	open    map[[2]any]*ent.Bill // the bill of (account, type) this run adds to
	touched map[int]bool
	seq     map[string]int // the next sequence by prefix and year
}

func newWriter(tx *ent.Tx, o Options) *writer {
	return &writer{tx: tx, o: o, open: map[[2]any]*ent.Bill{}, touched: map[int]bool{}, seq: map[string]int{}}
}

// line writes l of order ord to its bill: a new fee for a fee's line, else
// the account's open invoice (or pro forma), new with NewOpen.
func (w *writer) line(ctx context.Context, s *ent.Service, ord *ent.Order, l lines.Line, pl PreviewLine) (int, error) {
	typ := amounts.Invoice
	switch {
	case w.o.ProForma:
		typ = amounts.ProForma
	case s.IsFee:
		typ = amounts.Fee
	}
	b, err := w.bill(ctx, ord.AccountID, typ, typ == amounts.Fee)
	if err != nil {
		return 0, err
	}
	q := l.Quantity()
	c := w.tx.BillLine.Create().SetBillID(b.ID).SetAccountID(ord.AccountID).SetDescription(clip(pl.Description, 256)).
		SetRate(l.Rate).SetQuantity(q.RoundBank(2)).SetVerboseQuantity(clip(pl.Quantity, 16)).SetSubtotal(l.Subtotal).SetTax(s.Tax).
		SetStartOn(l.Ini).SetNillableEndOn(nonZero(l.End)).SetOrderID(ord.ID).SetNillableOrderBilledOn(ord.BilledOn).
		SetNillableOrderBilledUntil(ord.BilledUntil).SetNillableOrderBilledMetric(ord.BilledMetric).SetCreatedOn(w.o.Today)
	line, err := c.Save(ctx)
	if err != nil {
		return 0, err
	}
	for _, d := range pl.Discounts {
		if err := w.tx.BillSubline.Create().SetBillLineID(line.ID).SetAccountID(ord.AccountID).SetDescription(d.Description).SetTotal(d.Total).SetType(d.Type).Exec(ctx); err != nil {
			return 0, err
		}
	}
	w.touched[b.ID] = true
	return b.ID, nil
}

func nonZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// bill is the bill of type for account this run adds to: the account's
// last open one (unless NewOpen or fresh), else a new open one.
func (w *writer) bill(ctx context.Context, account int, typ string, fresh bool) (*ent.Bill, error) {
	key := [2]any{account, typ}
	if b := w.open[key]; b != nil && !fresh {
		return b, nil
	}
	if !fresh && !w.o.NewOpen {
		b, err := w.tx.Bill.Query().Where(bill.AccountID(account), bill.Type(typ), bill.IsOpen(true)).Order(ent.Desc(bill.FieldID)).First(ctx)
		if err == nil {
			w.open[key] = b
			return b, nil
		} else if !ent.IsNotFound(err) {
			return nil, err
		}
	}
	number, err := w.number(ctx, typ, true)
	if err != nil {
		return nil, err
	}
	b, err := w.tx.Bill.Create().SetAccountID(account).SetType(typ).SetNumber(number).SetTotal(decimal.Zero).Save(ctx)
	if err != nil {
		return nil, err
	}
	if !fresh {
		w.open[key] = b
	}
	return b, nil
}

// number is the next number of type (open: with its O).
func (w *writer) number(ctx context.Context, typ string, open bool) (string, error) {
	return nextNumber(ctx, w.tx, w.seq, typ, w.o.Today.Year(), open)
}

// nextNumber is the next number of typ in year, remembered in seq for the
// rest of a transaction that takes several.
func nextNumber(ctx context.Context, tx *ent.Tx, seq map[string]int, typ string, year int, open bool) (string, error) {
	prefix := prefixSettings[typ].Get()
	key := prefix + strconv.Itoa(year)
	if seq[key] == 0 {
		numbers, err := tx.Bill.Query().Where(bill.Or(bill.NumberHasPrefix(prefix+strconv.Itoa(year)), bill.NumberHasPrefix("O"+prefix+strconv.Itoa(year)))).
			Select(bill.FieldNumber).Strings(ctx)
		if err != nil {
			return "", err
		}
		seq[key] = amounts.Next(numbers, prefix, year)
	}
	n := amounts.Number(prefix, year, seq[key], NumberLength.Get(), open)
	seq[key]++
	return n, nil
}

// totals recomputes the totals of the bills the run wrote to.
func (w *writer) totals(ctx context.Context) error {
	for id := range w.touched {
		if err := Recompute(ctx, w.tx, id); err != nil {
			return err
		}
	}
	return nil
}
