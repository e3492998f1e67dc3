package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/i18n"
)

// The settings page lists every registered setting, grouped as the
// settings group themselves (by service), and sets or resets one through
// the API: its validation, its history and its staff-only rule are the
// API's. A value from the environment wins over a stored one and is shown,
// not edited.

// SettingView is one setting as the page shows it.
type SettingView struct {
	Name, Help, Type string
	Default, Value   string
	Choices          []string
	Source           string // default, env or database
	Secret           bool
	Error            string
}

// SettingGroup is the settings of one service.
type SettingGroup struct {
	Title    string
	Settings []SettingView
	Open     bool // shown unfolded: it holds the setting just saved or refused
}

type settingInfo struct {
	Name    string `json:"name"`
	Group   string `json:"group"`
	Type    string `json:"type"`
	Help    string `json:"help"`
	Choices []any  `json:"choices"`
	Default any    `json:"default"`
	Value   any    `json:"value"`
	Source  string `json:"source"`
	Secret  bool   `json:"secret"`
}

// settingText is a setting's JSON value as a form shows it.
func settingText(v any) string {
	if l, ok := v.([]any); ok {
		parts := make([]string, len(l))
		for i, e := range l {
			parts[i] = formValue(Field{}, e)
		}
		return strings.Join(parts, "\n")
	}
	return formValue(Field{}, v)
}

func (w *Handler) settingsPage(rw http.ResponseWriter, r *http.Request) {
	w.renderSettings(rw, r, http.StatusOK, "", "")
}

// renderSettings shows the page; failed names the setting whose save was
// refused with msg.
func (w *Handler) renderSettings(rw http.ResponseWriter, r *http.Request, status int, failed, msg string) {
	ctx := r.Context()
	code, _, body := w.call(r, http.MethodGet, "/settings", nil)
	var infos []settingInfo
	if code != http.StatusOK || json.Unmarshal(body, &infos) != nil {
		w.apiError(rw, r, parseProblem(code, body))
		return
	}
	byGroup := map[string]*SettingGroup{}
	var groups []*SettingGroup
	for _, in := range infos {
		g := byGroup[in.Group]
		if g == nil {
			g = &SettingGroup{Title: i18n.T(ctx, humanize(strings.ToLower(in.Group)))}
			byGroup[in.Group] = g
			groups = append(groups, g)
		}
		sv := SettingView{Name: in.Name, Help: i18n.T(ctx, in.Help), Type: in.Type, Default: settingText(in.Default),
			Value: settingText(in.Value), Source: in.Source, Secret: in.Secret}
		for _, c := range in.Choices {
			sv.Choices = append(sv.Choices, formValue(Field{}, c))
		}
		if in.Name == failed || in.Name == r.URL.Query().Get("open") {
			g.Open = true
		}
		if in.Name == failed {
			sv.Error = msg
			if v := r.PostFormValue("value"); !in.Secret {
				sv.Value = v
			}
		}
		g.Settings = append(g.Settings, sv)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Title < groups[j].Title })
	out := make([]SettingGroup, len(groups))
	for i, g := range groups {
		sort.Slice(g.Settings, func(a, b int) bool { return g.Settings[a].Name < g.Settings[b].Name })
		out[i] = *g
	}
	render(rw, r, status, settingsPage(w.frame(r, i18n.T(ctx, "Settings")), out))
}

// setSetting stores the submitted value, typed as the setting is.
func (w *Handler) setSetting(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := r.ParseForm(); err != nil {
		w.apiError(rw, r, &problem{Status: http.StatusBadRequest, Message: err.Error()})
		return
	}
	raw := strings.ReplaceAll(r.PostFormValue("value"), "\r\n", "\n")
	var v any = raw
	switch r.PostFormValue("type") {
	case "int":
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			w.renderSettings(rw, r, http.StatusUnprocessableEntity, name, i18n.T(r.Context(), "Enter a whole number."))
			return
		}
		v = n
	case "bool":
		v = raw == "true" || raw == "on"
	case "list":
		items := []string{}
		for _, l := range strings.Split(raw, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				items = append(items, l)
			}
		}
		v = items
	}
	code, _, body := w.call(r, http.MethodPut, "/settings/"+url.PathEscape(name), map[string]any{"value": v})
	if code >= 300 {
		p := parseProblem(code, body)
		msg := p.Message
		if m, ok := p.Fields["value"]; ok {
			msg = m
		}
		w.renderSettings(rw, r, code, name, msg)
		return
	}
	http.Redirect(rw, r, "/settings/?done=saved&open="+url.QueryEscape(name)+"#"+url.QueryEscape(name), http.StatusSeeOther)
}

// resetSetting forgets the stored value: the environment's or the default
// applies again.
func (w *Handler) resetSetting(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	code, _, body := w.call(r, http.MethodDelete, "/settings/"+url.PathEscape(name), nil)
	if code >= 300 {
		w.renderSettings(rw, r, code, name, parseProblem(code, body).Message)
		return
	}
	http.Redirect(rw, r, "/settings/?done=saved&open="+url.QueryEscape(name)+"#"+url.QueryEscape(name), http.StatusSeeOther)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return strings.ReplaceAll(s, "\n", ", ")
}
