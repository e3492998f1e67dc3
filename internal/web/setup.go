package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/orchestra-panel/orchestra/internal/i18n"
)

// A server's page, for staff, walks them through setting it up: let the
// panel in, pin its host key, route services to it and apply what exists.
// It reads everything through the API, as the rest of the pages do.

// ServerSetup is the setup card of a server's page.
type ServerSetup struct {
	Server   string // the server's path: /servers/3
	Key      string // where the panel's public key is shown
	Pinned   string // the pinned key's fingerprint, if any
	Presents string // the fingerprint the server presents, when none is pinned
	Problem  string // why the presented key could not be read
	Pin      string // the pin form, prefilled with what it presents
	Services []ServiceRow
}

// ServiceRow is one backend: routed here (with its route), or proposed.
type ServiceRow struct {
	Backend, Verbose string
	Objects          string // the model it applies, as the navigation names it
	Route            string // the route's page, when one exists
	Apply            string // its "apply existing objects" form
	Add              string // the prefilled route form, when none does
}

type backendInfo struct {
	Name         string `json:"name"`
	Verbose      string `json:"verbose"`
	Model        string `json:"model"`
	DefaultMatch string `json:"default_match"`
}

func (w *Handler) serverSetup(r *http.Request, id string, obj map[string]any) *ServerSetup {
	path := "/servers/" + url.PathEscape(id)
	su := &ServerSetup{Server: path, Key: path + "/view/panel-key"}
	if fp, _ := obj["host_key_fingerprint"].(string); fp != "" {
		su.Pinned = fp
	} else if key, _ := obj["host_key"].(string); key != "" {
		su.Pinned = key
	} else {
		code, _, body := w.call(r, http.MethodGet, path+"/host-key", nil)
		var hk struct {
			Fingerprint string `json:"presented_fingerprint"`
		}
		if code == http.StatusOK && json.Unmarshal(body, &hk) == nil {
			su.Presents = hk.Fingerprint
			su.Pin = path + "/do/host-key?fingerprint=" + url.QueryEscape(hk.Fingerprint)
		} else {
			su.Problem = parseProblem(code, body).Message
		}
	}
	var backends []backendInfo
	if code, _, body := w.call(r, http.MethodGet, "/backends", nil); code != http.StatusOK || json.Unmarshal(body, &backends) != nil {
		return su
	}
	routed := map[string]string{}
	if res, _, _ := w.listJSON(r, "routes", url.Values{"server": {id}, "page_size": {"100"}}); res != nil {
		for _, rt := range res.Results {
			b, _ := rt["backend"].(string)
			if n, ok := rt["id"].(float64); ok && routed[b] == "" {
				routed[b] = strconv.Itoa(int(n))
			}
		}
	}
	for _, b := range backends {
		row := ServiceRow{Backend: b.Name, Verbose: b.Verbose, Objects: b.Model}
		for _, m := range w.models.order {
			if m.Type == b.Model {
				row.Objects = i18n.T(r.Context(), m.Label)
			}
		}
		if rid := routed[b.Name]; rid != "" {
			row.Route, row.Apply = "/routes/"+rid, "/routes/"+rid+"/do/apply"
		} else {
			q := url.Values{"server": {id}, "backend": {b.Name}}
			if b.DefaultMatch != "" {
				q.Set("match", b.DefaultMatch)
			}
			row.Add = "/routes/new?" + q.Encode()
		}
		su.Services = append(su.Services, row)
	}
	// the routed first: what the server does, then what it could do
	slices.SortStableFunc(su.Services, func(a, b ServiceRow) int {
		switch {
		case a.Route != "" && b.Route == "":
			return -1
		case a.Route == "" && b.Route != "":
			return 1
		}
		return 0
	})
	return su
}
