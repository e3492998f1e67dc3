package web

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/orchestra-panel/orchestra/internal/i18n"
)

// UsageBar is an object's use of one resource, as its page shows it.
type UsageBar struct {
	Href      string
	Label     string
	Text      string  // 1.5 of 10 GB
	Used      float64 // for the meter only; the text is the API's decimal
	Allocated float64 // 0: none
	Exceeded  bool
}

// usageBars reads an object's usage of each resource of its model (an
// account's too), if the API declares usage.
func (w *Handler) usageBars(r *http.Request, m *Model, id string) []UsageBar {
	if w.models.byName["usage"] == nil || m.Type == "" || m.Name == "usage" {
		return nil
	}
	if m.Type == "Account" {
		return w.accountUsage(r, id)
	}
	res, _, _ := w.listJSON(r, "usage", url.Values{"model": {m.Type}, "object": {id}, "page_size": {"50"}})
	if res == nil {
		return nil
	}
	ctx := r.Context()
	var out []UsageBar
	for _, u := range res.Results {
		b := UsageBar{Href: fmt.Sprintf("/usage/%v", u["id"]), Label: i18n.T(ctx, fmt.Sprint(u["label"]))}
		used, _ := u["used"].(string)
		unit, _ := u["unit"].(string)
		b.Used, _ = strconv.ParseFloat(used, 64)
		b.Exceeded, _ = u["exceeded"].(bool)
		switch alloc, ok := u["allocated"].(float64); {
		case used == "":
			b.Text = i18n.T(ctx, "not measured yet")
		case ok:
			b.Allocated = alloc
			b.Text = i18n.T(ctx, "%s of %s %s", trimZeros(used), strconv.FormatFloat(alloc, 'f', -1, 64), unit)
		default:
			b.Text = strings.TrimSpace(trimZeros(used) + " " + unit)
		}
		out = append(out, b)
	}
	return out
}

// accountUsage sums an account's usage per resource: its own (an account's
// resources) and its objects' (the disk of all its mailboxes), with how many
// objects each sums.
func (w *Handler) accountUsage(r *http.Request, id string) []UsageBar {
	res, _, _ := w.listJSON(r, "usage", url.Values{"account": {id}, "page_size": {"500"}})
	if res == nil {
		return nil
	}
	ctx := r.Context()
	type total struct {
		label, unit, model, resource string
		used, alloc                  float64
		objects, allocated, over     int
	}
	var order []string
	sums := map[string]*total{}
	for _, u := range res.Results {
		key := fmt.Sprint(u["resource"])
		t, ok := sums[key]
		if !ok {
			t = &total{label: fmt.Sprint(u["label"]), unit: fmt.Sprint(u["unit"]), model: fmt.Sprint(u["model"]), resource: key}
			sums[key], order = t, append(order, key)
		}
		used, _ := strconv.ParseFloat(fmt.Sprint(u["used"]), 64)
		t.used += used
		t.objects++
		if a, ok := u["allocated"].(float64); ok {
			t.alloc += a
			t.allocated++
		}
		if u["exceeded"] == true {
			t.over++
		}
	}
	var out []UsageBar
	for _, key := range order {
		t := sums[key]
		b := UsageBar{Href: "/usage/?account=" + url.QueryEscape(id) + "&resource=" + url.QueryEscape(t.resource),
			Label: i18n.T(ctx, t.label), Used: t.used, Exceeded: t.over > 0}
		used := threeDigits(t.used)
		if t.allocated == t.objects {
			b.Allocated = t.alloc
			b.Text = i18n.T(ctx, "%s of %s %s", used, threeDigits(t.alloc), t.unit)
		} else {
			b.Text = strings.TrimSpace(used + " " + t.unit)
		}
		if t.model != "Account" {
			b.Text += " · " + i18n.T(ctx, "%d objects (%s)", t.objects, i18n.T(ctx, w.modelLabel(t.model)))
		}
		out = append(out, b)
	}
	return out
}

// modelLabel is the plural label of the model of type typ, or typ.
func (w *Handler) modelLabel(typ string) string {
	for _, m := range w.models.order {
		if m.Type == typ {
			return m.Label
		}
	}
	return typ
}

// trimZeros drops a decimal's trailing zeros: 1.500 → 1.5, 2.000 → 2.
func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Chart is a usage history drawn as SVG on the server: its samples and
// the usage the aggregation gave each day.
type Chart struct {
	Title         string
	Width, Height int
	Samples       string // polyline points
	Usage         string
	Limit         float64     // the allocation's y, or -1
	Dots          [][2]string // the samples' x and y, when few
	Above         string      // the allocation, when far above the data
	YTop, YBottom string      // axis labels
	XLeft, XRight string
	Empty         bool
}

const chartW, chartH, chartPad = 640, 220, 40

// usageChart draws the history of usage object id from the API.
func (w *Handler) usageChart(r *http.Request, id string, obj map[string]any) *Chart {
	h, _, _ := w.getJSON(r, "/usage/"+url.PathEscape(id)+"/history?days=31")
	if h == nil {
		return nil
	}
	ctx := r.Context()
	type pt struct {
		at time.Time
		v  float64
	}
	read := func(key string) []pt {
		var out []pt
		list, _ := h[key].([]any)
		for _, x := range list {
			p, _ := x.(map[string]any)
			at, err := time.Parse(time.RFC3339, fmt.Sprint(p["at"]))
			v, err2 := strconv.ParseFloat(fmt.Sprint(p["value"]), 64)
			if err == nil && err2 == nil {
				out = append(out, pt{at, v})
			}
		}
		return out
	}
	samples, usage := read("samples"), read("usage")
	from, _ := time.Parse(time.RFC3339, fmt.Sprint(h["from"]))
	to, _ := time.Parse(time.RFC3339, fmt.Sprint(h["to"]))
	c := &Chart{Title: i18n.T(ctx, "Usage over the last 31 days"), Width: chartW, Height: chartH, Limit: -1,
		XLeft: from.Format("2006-01-02"), XRight: to.Format("2006-01-02"), Empty: len(samples) == 0 && len(usage) == 0}
	top := 0.0
	for _, p := range append(samples, usage...) {
		top = math.Max(top, p.v)
	}
	// the allocation is drawn when it is in the data's range (twice its
	// top); far above, the legend says it and the data keep the height
	alloc, hasAlloc := obj["allocated"].(float64)
	if hasAlloc && (alloc <= 2*top || top == 0) {
		top = math.Max(top, alloc)
	} else if hasAlloc {
		hasAlloc = false
		c.Above = i18n.T(ctx, "Allocated: %s %s, above the chart", strconv.FormatFloat(alloc, 'f', -1, 64), fmt.Sprint(obj["unit"]))
	}
	if top == 0 {
		top = 1
	}
	top *= 1.1
	x := func(t time.Time) float64 {
		span := to.Sub(from).Seconds()
		if span <= 0 {
			return chartPad
		}
		return chartPad + (chartW-2*chartPad)*t.Sub(from).Seconds()/span
	}
	y := func(v float64) float64 { return chartH - chartPad/2 - (chartH-chartPad)*v/top }
	line := func(ps []pt) string {
		var b strings.Builder
		for _, p := range ps {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(p.at), y(p.v))
		}
		return strings.TrimSpace(b.String())
	}
	c.Samples, c.Usage = line(samples), line(usage)
	if len(samples) <= 62 { // few: each one a dot
		for _, p := range samples {
			c.Dots = append(c.Dots, [2]string{c.f(x(p.at)), c.f(y(p.v))})
		}
	}
	if hasAlloc {
		c.Limit = y(alloc)
	}
	unit, _ := obj["unit"].(string)
	c.YTop, c.YBottom = strings.TrimSpace(threeDigits(top)+" "+unit), "0"
	return c
}

// threeDigits is v rounded to three significant digits, never in
// exponent form: 0.0176, 55, 1230000.
func threeDigits(v float64) string {
	if v <= 0 {
		return "0"
	}
	d := math.Pow(10, 2-math.Floor(math.Log10(v)))
	return strconv.FormatFloat(math.Round(v*d)/d, 'f', -1, 64)
}

func (c Chart) f(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// Monthly is what an account pays a month, as its page shows it.
type Monthly struct {
	Total    string
	Services []MonthlyService
}

// MonthlyService is a month of one service's orders.
type MonthlyService struct {
	Description, Total string
	Orders             int
}

// monthly reads what the account id pays a month, if billing says (nil
// when it bills it nothing).
func (w *Handler) monthly(r *http.Request, id string) *Monthly {
	status, _, body := w.call(r, http.MethodGet, "/accounts/"+url.PathEscape(id)+"/monthly", nil)
	if status != http.StatusOK {
		return nil
	}
	var out struct {
		Shown    string `json:"shown"`
		Services []struct {
			Description string `json:"description"`
			Orders      int    `json:"orders"`
			Shown       string `json:"shown"`
		} `json:"services"`
	}
	if json.Unmarshal(body, &out) != nil || len(out.Services) == 0 {
		return nil
	}
	m := &Monthly{Total: out.Shown}
	for _, s := range out.Services {
		m.Services = append(m.Services, MonthlyService{Description: s.Description, Orders: s.Orders, Total: s.Shown})
	}
	return m
}
