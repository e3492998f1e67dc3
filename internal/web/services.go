package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/orchestra-panel/orchestra/internal/i18n"
)

// A customer's dashboard lists their services with a state in plain words,
// from the last operations on each: never a backend, a server or a log.

// ServiceList is one model's objects on a customer's dashboard.
type ServiceList struct {
	Title string
	More  string // the full list, when there are more
	Items []ServiceItem
}

// ServiceItem is one object and its state.
type ServiceItem struct {
	Title, Href string
	State       string // the words
	Class       string // ok, busy, bad or off
}

// shownPerModel is how many objects of each model the dashboard names.
const shownPerModel = 8

func (w *Handler) customerServices(r *http.Request) []ServiceList {
	ctx := r.Context()
	// the last state of each object on each server, newest operations first
	type key struct {
		model string
		id    int
	}
	states := map[key][]string{}
	seen := map[string]bool{}
	code, _, body := w.call(r, http.MethodGet, "/operations?"+url.Values{"ordering": {"-id"}, "page_size": {"200"}}.Encode(), nil)
	var ops struct {
		Results []struct {
			Model    string `json:"model"`
			ObjectID int    `json:"object_id"`
			Backend  string `json:"backend"`
			Server   *int   `json:"server"`
			State    string `json:"state"`
		} `json:"results"`
	}
	if code == http.StatusOK && json.Unmarshal(body, &ops) == nil {
		for _, o := range ops.Results {
			srv := 0
			if o.Server != nil {
				srv = *o.Server
			}
			where := o.Model + "/" + strconv.Itoa(o.ObjectID) + "/" + o.Backend + "/" + strconv.Itoa(srv)
			if seen[where] {
				continue // an older operation of the same object there
			}
			seen[where] = true
			k := key{o.Model, o.ObjectID}
			states[k] = append(states[k], o.State)
		}
	}
	var out []ServiceList
	for _, m := range w.models.order {
		if m.Staff || !m.Applied || m.Group != "services" {
			continue
		}
		res, _, _ := w.listJSON(r, m.Slug, url.Values{"page_size": {strconv.Itoa(shownPerModel)}})
		if res == nil || res.Count == 0 {
			continue
		}
		sl := ServiceList{Title: i18n.T(ctx, m.Label)}
		if res.Count > len(res.Results) {
			sl.More = "/" + m.Slug + "/"
		}
		for _, obj := range res.Results {
			id := formValue(Field{}, obj["id"])
			n, _ := strconv.Atoi(id)
			it := ServiceItem{Title: objectTitle(m, id, obj), Href: "/" + m.Slug + "/" + id}
			it.State, it.Class = stateWords(r, states[key{m.Type, n}])
			if m.Toggle != "" && obj[m.Toggle] == false {
				it.State, it.Class = i18n.T(ctx, "disabled"), "off"
			}
			sl.Items = append(sl.Items, it)
		}
		out = append(out, sl)
	}
	return out
}

// stateWords says how an object stands from the last state of its
// operations on each server.
func stateWords(r *http.Request, states []string) (string, string) {
	ctx := r.Context()
	failed := false
	for _, s := range states {
		if !finalState(s) {
			return i18n.T(ctx, "being applied"), "busy"
		}
		switch s {
		case "FAILURE", "ERROR", "TIMEOUT", "ABORTED":
			failed = true
		}
	}
	if failed {
		return i18n.T(ctx, "could not be applied: our staff has been told"), "bad"
	}
	return i18n.T(ctx, "active"), "ok"
}
